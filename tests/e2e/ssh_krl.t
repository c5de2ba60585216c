#!/usr/bin/perl
# ssh-wid-helper revoke keeps an OpenSSH KRL that ssh-keygen agrees
# with, extends KRLs ssh-keygen wrote without losing their entries, and
# replaces the file atomically.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::SHA ();
use File::Temp qw(tempdir);
use MIME::Base64 ();
use Test::More;
use WidSshd qw(run slurp spew helper_bin make_ca make_user_key issue);

plan skip_all => 'ssh-wid-helper not built' unless -x helper_bin();
plan skip_all => 'ssh-keygen missing' unless -x '/usr/bin/ssh-keygen';

my $d = tempdir('wid-sshkrl-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $H = helper_bin();
my ($ca_key, $ca_pub) = make_ca($d, 'ca');
my $key = make_user_key($d, 'id_user');
my $index = "$d/issued.jsonl";
my ($rc, $out, $err);

sub cert {
    my ($name, $key_id) = @_;
    my ($rc, undef, $err) = issue(ca_key => $ca_key, pubkey => "$key.pub",
                                  principals => ['deploy'], out => "$d/$name",
                                  key_id => $key_id,
                                  extra => ['--index', $index]);
    die "issue: $err" if $rc != 0;
    ($rc, my $out) = run('/usr/bin/ssh-keygen', '-L', '-f', "$d/$name");
    my ($serial) = $out =~ /Serial: (\d+)/;
    return ("$d/$name", $serial);
}

# What ssh-keygen -Q says: 1 revoked, 0 not, other = error.
sub keygen_revoked {
    my ($krl, $cert) = @_;
    my ($rc, $out, $err) = run('/usr/bin/ssh-keygen', '-Q', '-f', $krl, $cert);
    return $rc == 1 && $out =~ /REVOKED/ ? 1
         : $rc == 0 && $out =~ /: ok$/m ? 0 : "error: $out$err";
}

# And what our own helper says (principals for user deploy).
spew("$d/helper.conf", "ca_pubkey $ca_pub\nkrl $d/krl\n", 0644);
sub helper_revoked {
    my ($cert) = @_;
    my (undef, $b64) = split ' ', slurp($cert);
    my ($rc, $out, $err) = run($H, 'principals', '--config', "$d/helper.conf",
                               '--user', 'deploy', '--type',
                               'ssh-ed25519-cert-v01@openssh.com',
                               '--cert', $b64);
    return $rc == 0 && $out eq "deploy\n" ? 0
         : $rc == 1 && $err =~ /ssh\.cert_revoked/ ? 1 : "error: $err";
}

my ($c1, $s1) = cert('c1', 'spiffe://example.org/a receipt=1');
my ($c2, $s2) = cert('c2', 'spiffe://example.org/b receipt=2');
my ($c3, $s3) = cert('c3', 'spiffe://example.org/c receipt=3');
my ($c4, $s4) = cert('c4', 'spiffe://example.org/c receipt=4');
my ($c5, $s5) = cert('c5', 'spiffe://example.org/d receipt=5');

# A new KRL is created on first revocation.
($rc, $out, $err) = run($H, 'revoke', '--krl', "$d/krl", '--ca', $ca_pub,
                        '--serial', $s1);
is($rc, 0, 'revoke by serial creates the KRL') or diag($err);
is((stat("$d/krl"))[2] & 07777, 0644, 'KRL is readable by sshd');
is(keygen_revoked("$d/krl", $c1), 1, 'ssh-keygen -Q: serial revoked');
is(keygen_revoked("$d/krl", $c2), 0, 'ssh-keygen -Q: other cert ok');
is(helper_revoked($c1), 1, 'helper: serial revoked');
is(helper_revoked($c2), 0, 'helper: other cert ok');

($rc, $out, $err) = run($H, 'revoke', '--krl', "$d/krl", '--ca', $ca_pub,
                        '--key-id', 'spiffe://example.org/b receipt=2');
is($rc, 0, 'revoke by key id');
is(keygen_revoked("$d/krl", $c2), 1, 'ssh-keygen -Q: key id revoked');
is(helper_revoked($c2), 1, 'helper: key id revoked');

($rc, $out, $err) = run($H, 'revoke', '--krl', "$d/krl", '--ca', $ca_pub,
                        '--spiffe-id', 'spiffe://example.org/c',
                        '--index', $index);
is($rc, 0, 'revoke by SPIFFE ID') or diag($err);
like($out, qr/revoked 2 serial/, 'two certificates carried that SPIFFE ID');
for ([$c3, 'c3'], [$c4, 'c4']) {
    is(keygen_revoked("$d/krl", $_->[0]), 1, "ssh-keygen -Q: $_->[1] revoked");
    is(helper_revoked($_->[0]), 1, "helper: $_->[1] revoked");
}
is(keygen_revoked("$d/krl", $c5), 0, 'unrelated SPIFFE ID not revoked');

($rc, $out) = run('/usr/bin/ssh-keygen', '-Q', '-l', '-f', "$d/krl");
like($out, qr/# KRL version 3/, 'each update bumps the KRL version');
my @left = grep { !/^(krl|krl\.lock|issued\.jsonl|helper\.conf|ca\.\w+|id_user(\.pub)?|c\d)$/ }
           map { s{.*/}{}r } glob("$d/*");
is_deeply(\@left, [], 'no temporary files left behind');

# Refusals.
($rc, $out, $err) = run($H, 'revoke', '--krl', "$d/krl", '--ca', $ca_pub,
                        '--serial', '0');
is($rc, 1, 'serial 0 refused');
like($err, qr/ssh\.serial_invalid/, 'with ssh.serial_invalid');
($rc, $out, $err) = run($H, 'revoke', '--krl', "$d/krl", '--ca', $ca_pub,
                        '--serial', '18446744073709551616');
like($err, qr/ssh\.serial_invalid/, 'serial above 2^64-1 refused');
($rc, $out, $err) = run($H, 'revoke', '--krl', "$d/krl", '--ca', $ca_pub,
                        '--spiffe-id', 'spiffe://example.org/nobody',
                        '--index', $index);
is($rc, 1, 'SPIFFE ID with no certificate');
like($err, qr/ssh\.revoke_no_match/, 'with ssh.revoke_no_match');
my $before = slurp("$d/krl");
spew("$d/bad.krl", "not a krl", 0644);
($rc, $out, $err) = run($H, 'revoke', '--krl', "$d/bad.krl", '--ca', $ca_pub,
                        '--serial', '7');
is($rc, 2, 'a corrupt KRL is not overwritten');
like($err, qr/ssh\.krl_malformed/, 'with ssh.krl_malformed');
is(slurp("$d/bad.krl"), 'not a krl', 'corrupt KRL left as it was');
is(slurp("$d/krl"), $before, 'refused updates leave the KRL untouched');
# --comment is printed by `ssh-keygen -Q -l` as one line: no control
# characters (a newline would forge lines of that listing).
($rc, $out, $err) = run($H, 'revoke', '--krl', "$d/krl", '--ca', $ca_pub,
                        '--serial', '7', '--comment', "ok\n# Comment: forged");
is($rc, 2, 'revoke --comment with a newline: exit 2');
like($err, qr/internal\.config_error.*--comment must be printable ASCII/,
     '... says why');
is(slurp("$d/krl"), $before, '... the KRL untouched');
# An index that is a FIFO is refused at once, not waited on.
mkdir "$d/fifo" or die;
system('mkfifo', "$d/fifo/index") == 0 or die 'mkfifo';
($rc, $out, $err) = run('timeout', '10', $H, 'revoke', '--krl', "$d/krl",
                        '--ca', $ca_pub, '--spiffe-id',
                        'spiffe://example.org/c', '--index', "$d/fifo/index");
is($rc, 2, '--index FIFO: refused at once (exit 2, not a hang)');
like($err, qr/internal\.io_error/, '... internal.io_error');
is(slurp("$d/krl"), $before, '... the KRL untouched');

# Interoperability: a KRL written by ssh-keygen (serial range, key id,
# explicit key), extended by us; ssh-keygen still sees every entry.
my $other = make_user_key($d, 'id_other');
spew("$d/spec", "serial: 1-100\nid: legacy-id\n", 0644);
($rc, $out, $err) = run('/usr/bin/ssh-keygen', '-k', '-f', "$d/kg.krl",
                        '-s', $ca_pub, "$d/spec");
is($rc, 0, 'ssh-keygen wrote a KRL') or diag($err);
($rc, $out, $err) = run('/usr/bin/ssh-keygen', '-k', '-u', '-f', "$d/kg.krl",
                        "$other.pub");
is($rc, 0, 'ssh-keygen added an explicit key') or diag($err);
($rc, $out, $err) = run($H, 'revoke', '--krl', "$d/kg.krl", '--ca', $ca_pub,
                        '--serial', $s5);
is($rc, 0, 'we extend the ssh-keygen KRL') or diag($err);
is(keygen_revoked("$d/kg.krl", $c5), 1, 'our revocation is seen');
is(keygen_revoked("$d/kg.krl", "$other.pub"), 1, 'explicit key kept');
($rc, $out) = run('/usr/bin/ssh-keygen', '-Q', '-l', '-f', "$d/kg.krl");
like($out, qr/serial: 1-100/, 'serial range kept');
like($out, qr/id: legacy-id/, 'key id kept');

# CA rotation: one index, the same SPIFFE ID under two CAs.  A serial
# means nothing without its CA, so --spiffe-id revokes the --ca CA's
# certificates only and says how many of another CA it left.
my ($ca2_key, $ca2_pub) = make_ca($d, 'ca2');
my @rot;
for ([$ca_key, 'r1'], [$ca2_key, 'r2']) {
    ($rc, $out, $err) = issue(ca_key => $_->[0], pubkey => "$key.pub",
                              principals => ['deploy'], out => "$d/$_->[1]",
                              key_id => "spiffe://example.org/rot receipt=$_->[1]",
                              extra => ['--index', "$d/rot.jsonl"]);
    is($rc, 0, "certificate $_->[1] issued") or diag($err);
    ($rc, $out) = run('/usr/bin/ssh-keygen', '-L', '-f', "$d/$_->[1]");
    push @rot, ($out =~ /Serial: (\d+)/)[0];
}
($rc, $out, $err) = run($H, 'revoke', '--krl', "$d/rot.krl", '--ca', $ca_pub,
                        '--spiffe-id', 'spiffe://example.org/rot',
                        '--index', "$d/rot.jsonl");
is($rc, 0, 'revoke --spiffe-id with the first CA') or diag($err);
like($out, qr/revoked 1 serial/, '... revokes its one certificate');
like($out, qr/skipped 1 certificate\(s\) of another CA/,
     '... and says it left the other CA\'s');
is(keygen_revoked("$d/rot.krl", "$d/r1"), 1, 'ssh-keygen -Q: r1 revoked');
is(keygen_revoked("$d/rot.krl", "$d/r2"), 0, 'ssh-keygen -Q: r2 not yet');
($rc, $out) = run('/usr/bin/ssh-keygen', '-Q', '-l', '-f', "$d/rot.krl");
unlike($out, qr/^serial: $rot[1]$/m,
       'no entry for r2\'s serial under the first CA');
($rc, $out, $err) = run($H, 'revoke', '--krl', "$d/rot.krl", '--ca',
                        $ca2_pub, '--spiffe-id', 'spiffe://example.org/rot',
                        '--index', "$d/rot.jsonl");
is($rc, 0, 'revoke --spiffe-id with the second CA') or diag($err);
is(keygen_revoked("$d/rot.krl", "$d/r2"), 1, 'ssh-keygen -Q: r2 revoked');
my ($ca3_key, $ca3_pub) = make_ca($d, 'ca3');
($rc, $out, $err) = run($H, 'revoke', '--krl', "$d/rot.krl", '--ca',
                        $ca3_pub, '--spiffe-id', 'spiffe://example.org/rot',
                        '--index', "$d/rot.jsonl");
is($rc, 1, 'a CA that issued none of them: nothing to revoke');
like($err, qr/ssh\.revoke_no_match.*2 certificate\(s\) of another CA/,
     '... ssh.revoke_no_match, saying two belong to other CAs');

# What `principals` says with a given CA and KRL: 0 ok, 1 revoked, else
# the error.
sub principals_with {
    my ($ca, $krl, $cert) = @_;
    spew("$d/p.conf", "ca_pubkey $ca\nkrl $krl\n", 0644);
    my (undef, $b64) = split ' ', slurp($cert);
    my ($rc, $out, $err) = run($H, 'principals', '--config', "$d/p.conf",
                               '--user', 'deploy', '--type',
                               'ssh-ed25519-cert-v01@openssh.com',
                               '--cert', $b64);
    return $rc == 0 && $out eq "deploy\n" ? 0
         : $rc == 1 && $err =~ /ssh\.cert_revoked/ ? 1 : "error: $err";
}

# A bitmap that ends at serial 2^64-1 is valid (OpenSSH looks at the
# highest set bit, not the bitmap's byte length): ssh-keygen writes one
# for every other serial from 2^64-41 to 2^64-1.
($rc, $out, $err) = run('/usr/bin/ssh-keygen', '-q', '-t', 'ed25519', '-N',
                        '', '-C', 'kgca', '-f', "$d/kgca");
is($rc, 0, 'an ssh-keygen CA') or diag($err);
($rc, $out, $err) = run('/usr/bin/ssh-keygen', '-q', '-s', "$d/kgca", '-I',
                        'top', '-n', 'deploy', '-V', '-1m:+10m', '-z',
                        '18446744073709551615', "$key.pub");
is($rc, 0, 'a certificate with serial 2^64-1') or diag($err);
rename("$key-cert.pub", "$d/top-cert.pub");
# 2^64-1 is 184467440737095 51615: subtract from the last five digits
my @top = map { 'serial: 184467440737095' . (51615 - $_) }
          grep { $_ % 2 == 0 } 0 .. 40;
spew("$d/top.spec", join("\n", @top) . "\n", 0644);
($rc, $out, $err) = run('/usr/bin/ssh-keygen', '-k', '-f', "$d/top.krl",
                        '-s', "$d/kgca.pub", "$d/top.spec");
is($rc, 0, 'ssh-keygen wrote the KRL') or diag($err);
is(keygen_revoked("$d/top.krl", "$d/top-cert.pub"), 1,
   'ssh-keygen -Q: 2^64-1 revoked');
is(principals_with("$d/kgca.pub", "$d/top.krl", "$d/top-cert.pub"), 1,
   'principals reads it: 2^64-1 revoked');
($rc, $out, $err) = run($H, 'revoke', '--krl', "$d/top.krl", '--ca',
                        "$d/kgca.pub", '--serial', '5');
is($rc, 0, 'revoke extends it') or diag($err);
is(keygen_revoked("$d/top.krl", "$d/top-cert.pub"), 1,
   '... and 2^64-1 is still revoked');
($rc, $out) = run('/usr/bin/ssh-keygen', '-Q', '-l', '-f', "$d/top.krl");
is(scalar(() = $out =~ /^serial: 1844674407370955/mg), 21,
   '... with all 21 serials near the top');

# What sshd refuses ("Invalid KRL file", then every public key login),
# the helper refuses too: serial 0 in a list, a range from 0, bit 0 of a
# bitmap at offset 0.  Hand-made: ssh-keygen does not write them.
my (undef, $ca_b64) = split ' ', slurp($ca_pub);
my $ca_blob = MIME::Base64::decode_base64($ca_b64);
sub sshstr { pack('N', length $_[0]) . $_[0] }
sub krl_with {
    my ($type, $data) = @_;
    my $sect = sshstr($ca_blob) . sshstr('') . chr($type) . sshstr($data);
    return "SSHKRL\n\0" . pack('N', 1) . pack('Q>Q>Q>', 1, 0, 0)
         . sshstr('') . sshstr('') . chr(1) . sshstr($sect);
}
my %zero = (list   => krl_with(0x20, pack('Q>Q>', 0, 7)),
            range  => krl_with(0x21, pack('Q>Q>', 0, 7)),
            bitmap => krl_with(0x22, pack('Q>', 0) . sshstr("\x05")));
for my $what (sort keys %zero) {
    my $f = "$d/zero-$what.krl";
    spew($f, $zero{$what}, 0644);
    ($rc, $out, $err) = run('/usr/bin/ssh-keygen', '-Q', '-l', '-f', $f);
    isnt($rc, 0, "serial 0 in a $what: ssh-keygen refuses the KRL");
    ($rc, $out, $err) = run($H, 'revoke', '--krl', $f, '--ca', $ca_pub,
                            '--serial', '9');
    is($rc, 2, "serial 0 in a $what: revoke refuses the KRL");
    like($err, qr/ssh\.krl_malformed/, '... as ssh.krl_malformed');
    is(slurp($f), $zero{$what}, '... and leaves it as it was');
    like(principals_with($ca_pub, $f, $c5), qr/^error: .*ssh\.krl_malformed/,
         "serial 0 in a $what: principals reports it");
}
spew("$d/ok-bitmap.krl", krl_with(0x22, pack('Q>', 0) . sshstr("\x06")),
     0644);
($rc, $out) = run('/usr/bin/ssh-keygen', '-Q', '-l', '-f', "$d/ok-bitmap.krl");
is($rc, 0, 'bitmap at offset 0 without bit 0: ssh-keygen reads it');
is(principals_with($ca_pub, "$d/ok-bitmap.krl", $c5), 0,
   '... and so does principals');

# Big KRLs: ssh-keygen -k writes one fingerprint per revoked key; 50000 of
# them (and ours) read fast enough for every login (the old reader took
# seconds; no timing is asserted here, the result is).
my $big_user = make_user_key($d, 'id_big');
($rc, $out, $err) = run('/usr/bin/ssh-keygen', '-q', '-s', "$d/kgca", '-I',
                        'big', '-n', 'deploy', '-V', '-1m:+10m', '-z', '77',
                        "$big_user.pub");
is($rc, 0, 'a certificate for the key to revoke') or diag($err);
($rc, $out) = run('/usr/bin/ssh-keygen', '-l', '-E', 'sha256', '-f',
                  "$big_user.pub");
my ($big_fp) = $out =~ /(SHA256:\S+)/;
open(my $spec, '>', "$d/big.spec") or die;
for my $i (1 .. 50000) {
    print $spec 'hash: SHA256:',
          MIME::Base64::encode_base64(Digest::SHA::sha256("k$i"), '') =~ s/=+$//r,
          "\n";
}
print $spec "hash: $big_fp\n";
close $spec;
($rc, $out, $err) = run('/usr/bin/ssh-keygen', '-k', '-f', "$d/big.krl",
                        '-s', "$d/kgca.pub", "$d/big.spec");
is($rc, 0, 'ssh-keygen wrote a 50001-fingerprint KRL') or diag($err);
is(principals_with("$d/kgca.pub", "$d/big.krl", "$big_user-cert.pub"), 1,
   'principals: the key is found among 50001 fingerprints');
is(principals_with("$d/kgca.pub", "$d/big.krl", "$d/top-cert.pub"), 0,
   'principals: another key is not revoked');
($rc, $out, $err) = run($H, 'revoke', '--krl', "$d/big.krl", '--ca',
                        "$d/kgca.pub", '--serial', '78');
is($rc, 0, 'revoke extends the big KRL') or diag($err);
($rc, $out) = run('/usr/bin/ssh-keygen', '-Q', '-l', '-f', "$d/big.krl");
is(scalar(() = $out =~ /^hash: SHA256:/mg), 50001,
   '... keeping every fingerprint');
is(keygen_revoked("$d/big.krl", "$big_user-cert.pub"), 1,
   'ssh-keygen -Q agrees');

done_testing();
