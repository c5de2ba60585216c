#!/usr/bin/perl
# ssh-wid-helper revoke keeps an OpenSSH KRL that ssh-keygen agrees
# with, extends KRLs ssh-keygen wrote without losing their entries, and
# replaces the file atomically.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
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

done_testing();
