#!/usr/bin/perl
# The wid CLI contract: --version, --help, exit codes, reasons, keygen.
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use JSON::PP;
use Test::More;

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
my $helper = "$root/build/bin/ssh-wid-helper";

sub run { my $o = `@_ 2>&1`; return ($? >> 8, $o) }

my ($rc, $out) = run("$wid --version");
is($rc, 0, 'wid --version exits 0');
like($out, qr/^wid \d+\.\d+\.\d+$/m, 'prints the version');

($rc, $out) = run("$wid --help");
is($rc, 0, 'wid --help exits 0');
like($out, qr/wid id parse SPIFFE_ID/, 'help lists the commands');

($rc, $out) = run($wid);
is($rc, 2, 'no arguments is a usage error (2)');
($rc, $out) = run("$wid frobnicate");
is($rc, 2, 'unknown command is a usage error (2)');
like($out, qr/unknown or unavailable command 'frobnicate'/, 'named');

($rc, $out) = run("$wid reasons --json");
is($rc, 0, 'reasons --json');
my $codes = decode_json($out);
ok(scalar(grep { $_->{code} eq 'key.permissions_too_open' } @$codes),
   'the one list includes key codes');
my $md = do { local $/; open my $f, '<', "$root/docs/reason-codes.md"; <$f> };
for my $c (@$codes) {
    like($md, qr/\Q`$c->{code}`\E/, "documented: $c->{code}");
}

my $d = tempdir(CLEANUP => 1);
($rc, $out) = run("$wid keygen --out $d/r");
is($rc, 0, 'keygen');
is((stat "$d/r.key")[2] & 0777, 0600, 'secret key is 0600');
like(`openssl pkey -pubin -in $d/r.pub -noout -text 2>&1`, qr/ED25519/,
     'public key is standard SPKI PEM');
($rc, $out) = run("$wid keygen --out $d/r");
is($rc, 2, 'keygen refuses to overwrite');
like($out, qr/key\.exists/, 'with its reason code');
($rc, $out) = run("$wid keygen");
is($rc, 2, 'keygen without --out is a usage error');
# PREFIX must end in a file name: never the hidden files DIR/.key, .pub.
mkdir "$d/k" or die;
for my $p (["$d/k/", "ends in '/'"], ["$d/k/.", "ends in '.'"],
           ["$d/k/..", "ends in '.'"], ["$d/k", 'is a directory'],
           ["$d/new/", "ends in '/'"]) {
    ($rc, $out) = run("$wid keygen --out $p->[0]");
    is($rc, 2, "keygen --out $p->[0]: exit 2");
    like($out, qr/\Q$p->[1]\E.*PREFIX\.key and PREFIX\.pub/, '... says why');
}
ok(!-e "$d/k/.key" && !-e "$d/k/.pub" && !-e "$d/k..key" && !-e "$d/k.key"
   && !-e "$d/.key", '... and writes nothing');
($rc, $out) = run("$wid keygen --out $d/k/r");
is($rc, 0, 'keygen --out DIR/NAME writes into DIR');
ok(-f "$d/k/r.key" && -f "$d/k/r.pub", '... DIR/NAME.key and .pub');

($rc, $out) = run("$helper --version");
is($rc, 0, 'ssh-wid-helper --version');
like($out, qr/^ssh-wid-helper \d+\.\d+\.\d+$/m, 'prints the version');

# --help names every command form, and every flag a usage text prints is
# documented in the page for that command.
sub doc { local $/; open my $f, '<', "$root/docs/$_[0]" or die; <$f> }
my $help = `$wid --help`;
for my $want ('wid id parse SPIFFE_ID [--json]', '[--leeway SECONDS]',
              '[--max-lifetime SECONDS]', 'wid receipt verify PROOF --pubkey PUB [--json]',
              'wid attest challenge --kind tpm', 'wid attest verify --kind',
              'wid attest result verify JWS|@FILE', 'append') {
    ok(index($help, $want) >= 0, "wid --help: $want");
}
my $hhelp = `$helper --help`;
for my $want ('--svid-key KEY [--audience AUD]',
              '[--attestation-result JWS|@FILE]', '[--comment TEXT]',
              '[--backdate SECONDS]', '[--force-command CMD]') {
    ok(index($hhelp, $want) >= 0, "ssh-wid-helper --help: $want");
}
my %flags_doc = (
    "$helper --help" => ['ssh.md'],
    "$wid --help" => ['identity.md', 'receipts.md', 'attestation.md',
                      'policy.md', 'reason-codes.md'],
    "$wid journal" => ['receipts.md'],
    "$wid attest" => ['attestation.md'],
    "$wid policy --help" => ['policy.md'],
    "$wid svid" => ['identity.md'],
);
for my $cmd (sort keys %flags_doc) {
    my $usage = `$cmd 2>&1`;
    my $text = join '', map { doc($_) } @{ $flags_doc{$cmd} };
    my %seen;
    for my $f ($usage =~ /(--[a-z][a-z0-9-]+)/g) {
        next if $seen{$f}++ || $f eq '--help' || $f eq '--version';
        ok(index($text, "$f") >= 0,
           "`$cmd` prints $f: documented in @{ $flags_doc{$cmd} }");
    }
}

# --help right after a command or its subcommand: usage on stdout, exit 0.
for my $cmd ('id parse', 'svid verify', 'bundle show', 'policy lint',
             'keygen', 'journal query', 'receipt verify', 'attest verify',
             'reasons', 'journal') {
    my $out = `$wid $cmd --help 2>/dev/null`;
    is($? >> 8, 0, "wid $cmd --help exits 0");
    like($out, qr/^usage: wid /, "wid $cmd --help: usage on stdout");
}
for my $cmd (qw(issue serve principals revoke pubkey sign-challenge)) {
    my $out = `$helper $cmd --help 2>/dev/null`;
    is($? >> 8, 0, "ssh-wid-helper $cmd --help exits 0");
    like($out, qr/^usage: ssh-wid-helper \Q$cmd\E /,
         "ssh-wid-helper $cmd --help: its usage on stdout");
}
# A value is never a request for help: a certificate's key id "--help"
# handed to principals must not print usage and exit 0.
($rc) = run($helper, 'principals', '--config', '/nonexistent',
            '--user', 'nobody', '--type', 'ssh-ed25519-cert-v01@openssh.com',
            '--cert', 'AAAA', '--key-id', '--help');
isnt($rc, 0, 'principals --key-id --help is not help: it fails');

done_testing;
