#!/usr/bin/perl
# SSH certificate serials are 64-bit random numbers: one at or above 2^63
# must come out of the journal exactly as it went in, through query,
# export (JSON Lines and OCSF) and an offline receipt proof.
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use JSON::PP;
use Test::More;

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
plan skip_all => 'wid not built (run make)' unless -x $wid;
my $d = tempdir(CLEANUP => 1);
my $J = "$d/journal";

sub run {
    my ($in, @args) = @_;
    open my $fh, '>', "$d/stdin" or die;
    print $fh $in;
    close $fh;
    my $cmd = join(' ', map { "'$_'" } $wid, @args);
    my $out = `$cmd < '$d/stdin' 2> '$d/stderr'`;
    my $rc = $? >> 8;
    open $fh, '<', "$d/stderr" or die;
    my $err = do { local $/; <$fh> };
    return ($rc, $out, $err);
}

my ($rc, $out, $err) = run('', 'keygen', '--out', "$d/k");
is($rc, 0, 'receipt key') or diag $err;

my @serials = ('9223372036854775808', '18446744073709551615',
               '9223372036854775807', '1');
my $in = '';
for my $s (@serials) {
    $in .= qq({"time_ms":1700000000000,"surface":"ssh_issue","verdict":"allow",)
         . qq("reason":"ok","rule":"ssh","identity":{"spiffe_id":)
         . qq("spiffe://example.org/ci"},"ssh":{"serial":"$s"}}\n);
}
($rc, $out, $err) = run($in, 'journal', 'append', $J, '--key', "$d/k.key",
                        '--writer', 'w', '--fsync', 'never');
is($rc, 0, 'receipts with serials >= 2^63 appended') or diag $err;
my @ids = map { (split / /)[1] } split /\n/, $out;
is(scalar @ids, scalar @serials, 'one receipt per line');

# The receipt bytes hold the serial as a u64: the ids must match an
# independent encoding of the same JSON.
my $ref = "$root/tests/tools/receipt-ref";
for my $i (0 .. $#serials) {
    my $line = (split /\n/, $in)[$i];
    open my $fh, '>', "$d/r.json" or die;
    print $fh $line;
    close $fh;
    my @o = split /\n/, `'$ref' w $i < '$d/r.json'`;
    is($o[1], $ids[$i], "serial $serials[$i]: receipt id as the reference computes it");
}

($rc, $out) = run('', 'journal', 'query', $J, '--json');
is($rc, 0, 'query --json');
my @q = map { decode_json($_) } split /\n/, $out;
is_deeply([map { $_->{ssh}{serial} } @q], \@serials,
          'query --json prints every serial exactly, as a string');
unlike($out, qr/"serial":\d/, 'never as a (possibly wrapped) JSON number');

($rc, $out) = run('', 'journal', 'export', $J);
my @e = map { decode_json($_) } split /\n/, $out;
is_deeply([map { $_->{ssh}{serial} } @e], \@serials, 'export jsonl: the same');

($rc, $out) = run('', 'journal', 'export', $J, '--format', 'ocsf');
my @o = map { decode_json($_) } split /\n/, $out;
is_deeply([map { $_->{unmapped}{wid}{ssh}{serial} } @o], \@serials,
          'export ocsf: the same');

($rc, $out, $err) = run('', 'journal', 'prove', $J, $ids[1], '--out',
                        "$d/p.json");
is($rc, 0, 'prove the 2^64-1 receipt') or diag $err;
($rc, $out, $err) = run('', 'receipt', 'verify', "$d/p.json", '--pubkey',
                        "$d/k.pub");
is($rc, 0, 'its proof verifies offline') or diag $err;
like($out, qr/"serial":\s*"18446744073709551615"|serial.*18446744073709551615/,
     'and shows the serial exactly');

done_testing();
