#!/usr/bin/perl
# `wid journal append` on a disk that fills up: it prints a receipt's
# "seq id" only once the record is written to the kernel, so every id it
# printed is in the journal afterwards; what it could not write is said
# on stderr, never printed, and the run exits 2.  Before, ids of records
# still in the write buffer were printed and then thrown away, and the
# journal still verified.
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use JSON::PP;
use Test::More;
use lib "$FindBin::Bin/lib";
use WidFiles qw(run_cmd mount_tmpfs);

plan skip_all => 'needs root (mounts a small tmpfs)' if $> != 0;

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
my $d = tempdir(CLEANUP => 1);
my $mnt = "$d/mnt";
mount_tmpfs($mnt, 'size=64k') or plan skip_all => 'cannot mount a tmpfs here';

sub run {
    my @args = @_;
    my $in = ref $args[0] eq 'SCALAR' ? shift @args : \'';
    return run_cmd($d, $in, $wid, @args);
}

run('keygen', '--out', "$d/k") == 0 or die 'keygen';
my $json = JSON::PP->new->canonical;
my $in = '';
for my $i (0 .. 499) {
    $in .= $json->encode({
        time_ms => 1_700_000_000_000 + $i, surface => 'http',
        verdict => 'allow', reason => 'ok', rule => 'api',
        operation => 'GET', policy => { hash => 'ab' x 32 },
        identity => { spiffe_id => 'spiffe://example.org/w',
                      trust_domain => 'example.org',
                      credential_kind => 'x509_svid' },
        request => { method => 'GET', host => 'api.example.org',
                     path => "/v1/r/$i", peer => '10.0.0.1' },
    }) . "\n";
}
my ($rc, $out, $err) = run(\$in, 'journal', 'append', "$mnt/j", '--key',
                           "$d/k.key", '--writer', 'w', '--fsync',
                           'interval', '--origin', 'host.test');
is($rc, 2, '500 receipts on a 64 KiB disk: exit 2');
like($err, qr/line \d+: seq \d+ id wr1-[0-9a-f]+ not written yet: internal\.io_error/,
     '... the first record that could not be written is named on stderr');
my @printed = map { (split / /)[1] } split /\n/, $out;
cmp_ok(scalar(@printed), '>', 10, 'the ids written before are printed');
cmp_ok(scalar(@printed), '<', 500, '... and not the others');

# What was printed is in the journal (its tail unsigned: the run could
# not write its last checkpoint).
($rc, $out) = run('journal', 'query', "$mnt/j", '--json');
my %in_journal = map { ($json->decode($_)->{id} => 1) }
    grep { length } split /\n/, $out;
is(scalar(grep { !$in_journal{$_} } @printed), 0,
   'every printed id is in the journal');
($rc, $out, $err) = run('journal', 'verify', "$mnt/j", '--pubkey',
                        "$d/k.pub", '--allow-unsigned-tail');
is($rc, 0, 'the journal verifies (unsigned tail allowed)') or diag $out, $err;

# No inode for the next segment: the rotation after a record cannot be
# made.  That record is written and printed; the next lines are refused
# and said so; the journal holds exactly the printed receipts.
my $mnt2 = "$d/mnt2";
mount_tmpfs($mnt2, 'size=1m,nr_inodes=7') or die 'mount';
($rc, $out, $err) = run(\$in, 'journal', 'append', "$mnt2/j", '--key',
                        "$d/k.key", '--writer', 'w', '--fsync', 'interval',
                        '--segment-bytes', '4096', '--origin', 'host.test');
is($rc, 2, 'no inode for the next segment: exit 2');
my @printed2 = map { (split / /)[1] } split /\n/, $out;
cmp_ok(scalar(@printed2), '>', 10, 'the ids written before are printed');
unlike($err, qr/not written yet/, 'no written record is said unwritten');
($rc, $out) = run('journal', 'query', "$mnt2/j", '--json');
my @listed = map { $json->decode($_)->{id} } grep { length } split /\n/, $out;
is_deeply([sort @listed], [sort @printed2],
          'the journal holds exactly the printed receipts');

done_testing;
