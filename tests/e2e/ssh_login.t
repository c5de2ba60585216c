#!/usr/bin/perl
# Real Debian sshd on 127.0.0.1 with ssh-wid-helper as
# AuthorizedPrincipalsCommand and a KRL as RevokedKeys; the real ssh
# client logs in with certificates issued by ssh-wid-helper.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use WidSshd qw(run slurp spew helper_bin make_ca make_user_key issue);

if (my $why = WidSshd::unavailable()) {
    plan skip_all => $why;
}
if ($< != 0 && !$ENV{WID_SSH_USER}) {
    diag('not root: sshd will only log in the current user');
}

my $sshd = WidSshd->new;
my $d    = $sshd->dir;
my $user = $sshd->user;
my $H    = helper_bin();

my ($ca_key, $ca_pub)       = make_ca($d, 'ca');
my ($evil_key, $evil_pub)   = make_ca($d, 'evil');
my $krl = "$d/revoked.krl";
my $index = "$d/issued.jsonl";

# An empty KRL must exist before sshd starts: unreadable = refuse all.
my ($rc, $out, $err) = run('/usr/bin/ssh-keygen', '-q', '-k', '-f', $krl,
                           '/dev/null');
is($rc, 0, 'empty KRL created') or diag($err);
chmod(0644, $krl);

$sshd->start(ca_pubkey => $ca_pub, krl => $krl);

my $key = make_user_key($d, 'id_workload');

sub cert_for {
    my ($name, %o) = @_;
    my ($rc, undef, $err) = issue(ca_key => $o{ca} // $ca_key,
                                  pubkey => "$key.pub",
                                  principals => $o{principals} // [$user],
                                  ttl => $o{ttl} // 300,
                                  key_id => $o{key_id}
                                      // "spiffe://example.org/ssh/$name receipt=$name",
                                  out => "$d/$name-cert.pub",
                                  extra => ['--index', $index,
                                            @{ $o{extra} // [] }]);
    die "issue $name: $err" if $rc != 0;
    return "$d/$name-cert.pub";
}

# sshd's log since the previous call: why exactly a login was refused.
my $log_pos = 0;
sub new_log {
    my $log = $sshd->log;
    my $new = substr($log, $log_pos);
    $log_pos = length $log;
    return $new;
}

sub last_decision {
    my @lines = grep { length } split /\n/, $sshd->helper_log;
    return $lines[-1] // '';
}

new_log();

# 1. login works with an issued certificate
my $good = cert_for('good', extra => ['--extension', 'permit-pty']);
($rc, $out, $err) = $sshd->ssh(key => $key, cert => $good,
                               cmd => 'echo wid-login-ok; id -un');
is($rc, 0, 'login with an issued certificate') or diag($err, $sshd->log);
like($out, qr/^wid-login-ok\n\Q$user\E$/m, 'command ran as the login user');
like(last_decision(), qr/"verdict":"allow","reason":"ok"/,
     'helper recorded the allow');
like(new_log(), qr/Accepted publickey for \Q$user\E .*ID spiffe:\/\/example\.org\/ssh\/good receipt=good \(serial \d+\)/,
     'sshd accepted the certificate with our key id and serial');

# force-command from the certificate is enforced by sshd
my $forced = cert_for('forced', extra => ['--force-command', 'echo forced-by-cert']);
($rc, $out, $err) = $sshd->ssh(key => $key, cert => $forced, cmd => 'echo nope');
is($rc, 0, 'login with a force-command certificate');
like($out, qr/^forced-by-cert$/m, 'force-command replaced the requested command');
unlike($out, qr/nope/, 'requested command did not run');

# source-address that excludes 127.0.0.1 is enforced
my $far = cert_for('far', extra => ['--source-address', '192.0.2.0/24']);
($rc, $out, $err) = $sshd->ssh(key => $key, cert => $far);
isnt($rc, 0, 'refused: source-address excludes the client');
like(new_log(), qr/not from a permitted source address \(127\.0\.0\.1\)/,
     'sshd refused on the certificate source-address');

# 2. wrong principal: certificate for another account
my $wrong = cert_for('wrong', principals => ['someone-else']);
($rc, $out, $err) = $sshd->ssh(key => $key, cert => $wrong);
isnt($rc, 0, 'refused: certificate lacks the login user as principal');
unlike($out, qr/wid-login-ok/, 'no command ran');
like(last_decision(), qr/"verdict":"deny","reason":"ssh\.principal_mismatch"/,
     'helper denied with ssh.principal_mismatch');

# 3. foreign CA: same key, certificate from a CA sshd does not trust
my $foreign = cert_for('foreign', ca => $evil_key);
($rc, $out, $err) = $sshd->ssh(key => $key, cert => $foreign);
isnt($rc, 0, 'refused: certificate from a foreign CA');
unlike($out, qr/wid-login-ok/, 'no command ran');
like(new_log(), qr/CA ED25519 \S+ is not listed in \Q$ca_pub\E/,
     'sshd refused the untrusted CA');
# the helper refuses it on its own as well (defence in depth)
my $foreign_b64 = (split ' ', slurp($foreign))[1];
($rc, $out, $err) = run($H, 'principals', '--config', "$d/helper.conf",
                        '--user', $user, '--type',
                        'ssh-ed25519-cert-v01@openssh.com',
                        '--cert', $foreign_b64);
is($rc, 1, 'helper alone denies the foreign CA');
is($out, '', 'and prints no principal');
like($err, qr/ssh\.cert_wrong_ca/, 'with ssh.cert_wrong_ca');

# 4. expired: one-second lifetime, then wait it out
my $short = cert_for('short', ttl => 1);
sleep 2;
($rc, $out, $err) = $sshd->ssh(key => $key, cert => $short);
isnt($rc, 0, 'refused: certificate expired');
like(last_decision(), qr/"reason":"ssh\.cert_expired"/,
     'helper denied with ssh.cert_expired');

# 5. revoked: by serial, through the KRL sshd reads (RevokedKeys)
my $victim = cert_for('victim');
($rc) = $sshd->ssh(key => $key, cert => $victim);
is($rc, 0, 'login works before revocation');
($rc, $out) = run('/usr/bin/ssh-keygen', '-L', '-f', $victim);
my ($serial) = $out =~ /Serial: (\d+)/;
new_log();
($rc, $out, $err) = run($H, 'revoke', '--krl', $krl, '--ca', $ca_pub,
                        '--serial', $serial);
is($rc, 0, 'revoke by serial') or diag($err);
($rc, $out, $err) = $sshd->ssh(key => $key, cert => $victim);
isnt($rc, 0, 'refused: certificate revoked by serial');
like(new_log(), qr/Authentication key ED25519-CERT \S+ revoked by file \Q$krl\E/,
     'sshd refused it through RevokedKeys');
($rc) = $sshd->ssh(key => $key, cert => $good);
is($rc, 0, 'other certificates still log in');

# revoked by SPIFFE ID: every certificate recorded for it
my $a1 = cert_for('a1', key_id => 'spiffe://example.org/ssh/batch receipt=1');
my $a2 = cert_for('a2', key_id => 'spiffe://example.org/ssh/batch receipt=2');
($rc, $out, $err) = run($H, 'revoke', '--krl', $krl, '--ca', $ca_pub,
                        '--spiffe-id', 'spiffe://example.org/ssh/batch',
                        '--index', $index);
is($rc, 0, 'revoke by SPIFFE ID') or diag($err);
like($out, qr/revoked 2 serial/, 'both certificates of that SPIFFE ID');
for my $c ($a1, $a2) {
    ($rc) = $sshd->ssh(key => $key, cert => $c);
    isnt($rc, 0, "refused: $c revoked by SPIFFE ID");
}

# a missing KRL refuses every certificate login (sshd and helper agree)
rename($krl, "$krl.away");
new_log();
($rc) = $sshd->ssh(key => $key, cert => $good);
isnt($rc, 0, 'refused: KRL missing');
like(new_log(), qr/Error checking authentication key .* in revoked keys file/,
     'sshd refused because RevokedKeys is unreadable');
rename("$krl.away", $krl);
($rc) = $sshd->ssh(key => $key, cert => $good);
is($rc, 0, 'login works again once the KRL is back');

$sshd->stop;
done_testing();
