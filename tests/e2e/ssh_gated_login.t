#!/usr/bin/perl
# End to end with Debian's real sshd and ssh client: certificates issued
# from a JWT-SVID and from an X.509-SVID with proof of possession (CLI
# and the serve daemon) log in; the AuthorizedPrincipalsCommand re-checks
# the rule as it stands now (a policy tightened after issuance denies),
# prints per-principal from="..." that sshd enforces, and every decision
# leaves a receipt in a journal that verifies.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Copy qw(copy);
use Test::More;
use WidSshd qw(run slurp spew helper_bin make_user_key);
use WidIssue qw(setup_td mint_jwt write_policy issuer_conf login_conf
                start_serve stop_serve sock_request journal_verify
                journal_receipts);

if (my $why = WidSshd::unavailable()) {
    plan skip_all => $why;
}

my $sshd = WidSshd->new;
my $d    = $sshd->dir;
my $user = $sshd->user;
my $H    = helper_bin();
my $p    = setup_td($d);
my $policy = "$d/policy.yaml";
write_policy($policy, user => $user);

# The login side reads its own copy of the receipt key (owner-only, owned
# by the command user) and appends to the same journal directory.
copy($p->{rcpt_key}, "$d/rcpt-login.key") or die "copy: $!";
chmod(0600, "$d/rcpt-login.key");
$sshd->give_to_cmd_user("$d/rcpt-login.key", $p->{journal});
chmod(0755, $p->{journal});

my $krl = "$d/revoked.krl";
my ($rc, $out, $err) = run('/usr/bin/ssh-keygen', '-q', '-k', '-f', $krl,
                           '/dev/null');
chmod(0644, $krl);
$sshd->start(ca_pubkey => $p->{ca_pub}, krl => $krl,
             extra_conf => login_conf($p, policy => $policy,
                                      receipt_key => "$d/rcpt-login.key"));
my $conf = issuer_conf($p, policy => $policy);
my $key = make_user_key($d, 'id_workload');
my $other = make_user_key($d, 'id_other');
spew("$d/good.jwt", mint_jwt($p));

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
sub verified {
    my ($what) = @_;
    my ($rc, $out, $err) = journal_verify($p);
    is($rc, 0, "wid journal verify passes after $what") or diag($out, $err);
}
sub login {
    my ($cert, %o) = @_;
    return $sshd->ssh(key => $o{key} // $key, cert => $cert,
                      cmd => 'echo wid-login-ok');
}
sub issue_cli {
    my ($name, @args) = @_;
    my ($rc, $out, $err) = run($H, 'issue', '--config', $conf, '--pubkey',
                               "$key.pub", '--out', "$d/$name-cert.pub", @args);
    return ($rc, "$d/$name-cert.pub", $err);
}

new_log();

# 1. JWT-SVID -> certificate -> login
my ($irc, $jwt_cert, $ierr) = issue_cli('jwt', '--jwt', "\@$d/good.jwt");
is($irc, 0, 'certificate issued from a JWT-SVID') or diag($ierr);
my ($rid) = $ierr =~ /receipt (wr1-[0-9a-f]{32})/;
($rc, $out, $err) = login($jwt_cert);
is($rc, 0, 'login with the JWT-SVID certificate') or diag($err, $sshd->log);
like($out, qr/wid-login-ok/, 'command ran');
like(new_log(), qr/Accepted publickey for \Q$user\E .*ID spiffe:\/\/a\.org\/workload receipt=\Q$rid\E rule=ssh_e2e cred=jwt_svid tier=none \(serial \d+\)/,
     'sshd logged the key id that names the issuance receipt');
like(last_decision(), qr/"verdict":"allow","reason":"ok".*"receipt":"wr1-[0-9a-f]{32}","rule":"ssh_e2e","spiffe_id":"spiffe:\/\/a\.org\/workload"/,
     'helper recorded the allow with its receipt');
my @logins = grep { $_->{surface} eq 'ssh_login' } @{ journal_receipts($p) };
ok(@logins >= 1, 'ssh_login receipts in the journal');
is($logins[-1]{verdict}, 'allow', 'last login receipt: allow');
is($logins[-1]{identity}{credential_id}, $rid,
   'login receipt links to the issuance receipt');
is($logins[-1]{ssh}{principals}, $user, 'login receipt names the account');
verified('a JWT-SVID login');

# The printed line carries from="..." from the rule.
my $b64 = (split ' ', slurp($jwt_cert))[1];
($rc, $out) = run($H, 'principals', '--config', "$d/helper.conf", '--user',
                  $user, '--type', 'ssh-ed25519-cert-v01@openssh.com',
                  '--cert', $b64) if $< != 0;
SKIP: {
    skip 'as root the helper config is checked through sshd only', 1 if $< == 0;
    is($out, "from=\"127.0.0.0/8,::1\" $user\n", 'per-principal from= printed');
}

# 2. X.509-SVID with proof of possession -> login
($rc, $out, $err) = run($H, 'sign-challenge', '--key', "$d/workload.key",
                        '--pubkey', "$key.pub", '--audience', 'wid-ssh-test');
spew("$d/proof", $out);
my ($xrc, $x509_cert, $xerr) = issue_cli('x509', '--x509', "$d/workload.pem",
                                         '--proof', "$d/proof");
is($xrc, 0, 'certificate issued from an X.509-SVID with proof') or diag($xerr);
($rc) = login($x509_cert);
is($rc, 0, 'login with the X.509-SVID certificate');
verified('an X.509-SVID login');

# 3. refused at issuance: nothing to log in with
spew("$d/aud.jwt", mint_jwt($p, aud => ['another-helper']));
($rc, undef, $err) = issue_cli('aud', '--jwt', "\@$d/aud.jwt");
is($rc, 1, 'JWT-SVID for another audience: no certificate');
like($err, qr/deny jwt\.aud_mismatch receipt wr1-/, 'jwt.aud_mismatch, recorded');
ok(!-s "$d/aud-cert.pub", 'nothing written');
($rc, undef, $err) = issue_cli('nopop', '--x509', "$d/workload.pem");
like($err, qr/deny ssh\.pop_missing receipt wr1-/,
     'X.509-SVID without proof of possession: ssh.pop_missing');
($rc, $out) = run($H, 'sign-challenge', '--key', "$d/workload.key", '--pubkey',
                  "$other.pub", '--audience', 'wid-ssh-test');
spew("$d/proof-other", $out);
($rc, undef, $err) = issue_cli('popother', '--x509', "$d/workload.pem",
                               '--proof', "$d/proof-other");
like($err, qr/deny ssh\.pop_invalid receipt wr1-/,
     'proof made over another SSH key: ssh.pop_invalid');
spew("$d/other.jwt", mint_jwt($p, sub => 'spiffe://a.org/other'));
($rc, undef, $err) = issue_cli('second', '--jwt', "\@$d/other.jwt");
like($err, qr/deny policy\.path_prefix receipt wr1-/,
     'a workload the policy does not allow: policy.path_prefix');
verified('refused issuances');

# 4. the policy tightened after issuance denies at login
for my $case (
    [ 'path prefix narrowed', { prefix => '/someone-else' }, 'policy.path_prefix' ],
    [ 'login user removed from the principals', { principals => '[backup]' },
      'ssh.principal_not_allowed' ],
    [ 'rule disabled', { enabled => 'false' }, 'policy.rule_disabled' ],
    [ 'ssh_login no longer allowed', { allow => '[ssh_issue]' },
      'policy.operation_not_allowed' ],
    [ 'lifetime cut below the certificate', { max_ttl => 60 },
      'ssh.cert_exceeds_rule' ],
    [ 'extension withdrawn', { extensions => '[]' }, 'ssh.cert_exceeds_rule' ],
    [ 'force-command added', { force_command => '/bin/true' },
      'ssh.cert_exceeds_rule' ],
) {
    my ($name, $over, $code) = @$case;
    write_policy($policy, user => $user, %$over);
    new_log();
    ($rc, $out, $err) = login($jwt_cert);
    isnt($rc, 0, "$name after issuance: login refused");
    unlike($out, qr/wid-login-ok/, "$name: no command ran");
    like(last_decision(), qr/"verdict":"deny","reason":"\Q$code\E"/,
         "$name: helper denied with $code");
}
write_policy($policy, user => $user, source => '[192.0.2.0/24]');
new_log();
($rc, $out) = login($jwt_cert);
isnt($rc, 0, 'source addresses narrowed after issuance: login refused');
like(new_log(), qr/with correct key but not from a permitted host \(host=127\.0\.0\.1, ip=127\.0\.0\.1, required=192\.0\.2\.0\/24\)/,
     'by sshd, on the from= the helper printed');
write_policy($policy, user => $user);
($rc) = login($jwt_cert);
is($rc, 0, 'policy restored: the same certificate logs in again');
spew($policy, "rules: [\n", 0644);
($rc) = login($jwt_cert);
isnt($rc, 0, 'policy that does not load: login refused (fail closed)');
like(last_decision(), qr/"reason":"policy\.syntax_error"/, 'policy.syntax_error');
write_policy($policy, user => $user);
verified('logins against a tightened policy');

# A certificate from the same CA that wid did not issue from evidence
# (operator mode, free-form key id): the policy cannot re-check it.
($rc, undef, $err) = run($H, 'issue', '--ca-key', $p->{ca_key}, '--pubkey',
                         "$key.pub", '--principal', $user, '--ttl', '120',
                         '--key-id', 'hand-made', '--out', "$d/manual-cert.pub");
is($rc, 0, 'operator-mode certificate made') or diag($err);
($rc, $out) = login("$d/manual-cert.pub");
isnt($rc, 0, 'refused: key id not from evidence-gated issuance');
like(last_decision(), qr/"verdict":"deny","reason":"ssh\.key_id_foreign"/,
     'ssh.key_id_foreign');

# 5. serve: the daemon issues, the certificate logs in
my $sock = "$d/issue.sock";
my $pid = start_serve($conf, $sock);
my $publine = slurp("$key.pub");
chomp $publine;
my $ans = sock_request($sock, { version => 1, pubkey => $publine,
                                jwt => slurp("$d/good.jwt") });
is($ans->{verdict}, 'allow', 'serve issued a certificate') or diag(explain $ans);
like($ans->{peer}, qr/^uid=$< gid=\d+ pid=$$ start=\d+ exe=\S+ exe_sha256=[0-9a-f]{64}$/,
     'serve attested its peer');
spew("$d/serve-cert.pub", $ans->{certificate});
($rc, $out, $err) = login("$d/serve-cert.pub");
is($rc, 0, 'login with the certificate from serve') or diag($err);
my ($issue) = grep { $_->{id} eq $ans->{receipt} } @{ journal_receipts($p) };
is($issue->{request}{peer}, $ans->{peer}, 'peer facts on the ssh_issue receipt');
($rc, $out, $err) = run($H, 'issue', '--socket', $sock, '--pubkey', "$key.pub",
                        '--x509', "$d/workload.pem", '--svid-key',
                        "$d/workload.key", '--audience', 'wid-ssh-test',
                        '--out', "$d/serve-x509-cert.pub");
is($rc, 0, 'issue --socket with an X.509-SVID') or diag($err);
($rc) = login("$d/serve-x509-cert.pub");
is($rc, 0, 'and that certificate logs in');
is(stop_serve($pid), 0, 'serve stopped with SIGTERM');
verified('serve');

# 6. revocation still applies to evidence-gated certificates
my $serial = $ans->{serial};
($rc, undef, $err) = run($H, 'revoke', '--krl', $krl, '--ca', $p->{ca_pub},
                         '--spiffe-id', 'spiffe://a.org/workload',
                         '--index', $p->{index});
is($rc, 0, 'revoke every certificate of the SPIFFE ID') or diag($err);
($rc) = login("$d/serve-cert.pub");
isnt($rc, 0, 'revoked certificate refused');

$sshd->stop;
verified('everything');
done_testing();
