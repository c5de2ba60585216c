#!/usr/bin/perl
# `principals` hands its ssh_login receipt to the running `serve` daemon
# (journal_socket): one long-lived writer instead of a writer log per run
# (sshd runs the command twice per login).  Only uids on the daemon's
# allow_login_uid may submit, only ssh_login receipts are taken; without
# the daemon, principals falls back to its own writer when it has one and
# denies when it has none (an unrecorded allow is a deny).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;
use WidSshd qw(run slurp spew helper_bin make_user_key);
use WidIssue qw(setup_td mint_jwt write_policy issuer_conf start_serve
                stop_serve sock_request journal_verify journal_receipts);

plan skip_all => 'ssh-wid-helper not built (run make)' unless -x helper_bin();

my $H = helper_bin();
my $d = tempdir('wid-sshls-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{WID_KEEP});
my $p = setup_td($d);
write_policy("$d/policy.yaml", user => 'deploy');
my $key = make_user_key($d, 'id');
spew("$d/good.jwt", mint_jwt($p));
my $sock = "$d/s.sock";
my $conf = issuer_conf($p, policy => "$d/policy.yaml",
                       extra => "allow_login_uid $<\n");

my $spid = start_serve($conf, $sock);
my ($rc, $out, $err) = run($H, 'issue', '--socket', $sock, '--pubkey',
                           "$key.pub", '--jwt', "\@$d/good.jwt",
                           '--out', "$d/cert.pub");
is($rc, 0, 'certificate issued through serve') or diag $err;
my (undef, $b64) = split ' ', slurp("$d/cert.pub");
run('/usr/bin/ssh-keygen', '-q', '-k', '-f', "$d/krl", '/dev/null');

my $base = "ca_pubkey $p->{ca_pub}\nkrl $d/krl\npolicy $d/policy.yaml\n"
         . "rule ssh_e2e\nlog $d/decisions.log\n";
spew("$d/login.conf", $base . "journal_socket $sock\n", 0644);
sub principals {
    my ($cfg, $user) = @_;
    return run($H, 'principals', '--config', $cfg, '--user', $user // 'deploy',
               '--type', 'ssh-ed25519-cert-v01@openssh.com', '--cert', $b64);
}
sub last_logged { decode_json((split /\n/, slurp("$d/decisions.log"))[-1]) }
sub receipt { my ($id) = @_; (grep { $_->{id} eq $id } @{ journal_receipts($p) })[0] }
sub writers { opendir my $dh, $p->{journal} or die; sort grep { !/^\./ } readdir $dh }

my @before = writers();
($rc, $out, $err) = principals("$d/login.conf");
is($rc, 0, 'login allowed') or diag $err;
like($out, qr/deploy$/, '... principal printed');
my $l = last_logged();
like($l->{receipt} // '', qr/^wr1-[0-9a-f]{32}$/, 'the decision names its receipt');
my $r = receipt($l->{receipt});
ok($r, 'the receipt is in the journal');
is($r->{surface}, 'ssh_login', '... surface ssh_login');
is($r->{verdict}, 'allow', '... verdict allow');
like($r->{writer}, qr/^ssh-serve-/, '... written by the daemon\'s writer');
like($r->{request}{peer}, qr/^uid=$< gid=\d+ pid=\d+ start=\d+ exe=\S*ssh-wid-helper exe_sha256=[0-9a-f]{64}$/,
     '... naming the submitting helper process as the daemon attested it');
is($r->{identity}{spiffe_id}, 'spiffe://a.org/workload', '... identity from the key id');
($rc) = principals("$d/login.conf", 'root');
is($rc, 1, 'a deny');
$r = receipt(last_logged()->{receipt});
is($r->{verdict}, 'deny', '... recorded by the daemon too');
is($r->{reason}, 'ssh.principal_mismatch', '... with its reason');
is_deeply([writers()], \@before, 'no new writer log for either run');

# Forged or wrong submissions.
my $good = { surface => 'ssh_login', verdict => 'allow', reason => 'ok' };
my $ans = sock_request($sock, { version => 1, login_receipt =>
    { %$good, surface => 'ssh_issue' } });
is($ans->{reason}, 'ssh.request_malformed', 'an ssh_issue receipt is never taken');
ok(!$ans->{receipt}, '... nothing recorded');
$ans = sock_request($sock, { version => 1, login_receipt => $good, x => 1 });
is($ans->{reason}, 'ssh.request_malformed', 'extra members refused');
$ans = sock_request($sock, { version => 2, login_receipt => $good });
is($ans->{reason}, 'ssh.request_malformed', 'another version refused');
$ans = sock_request($sock, { version => 1, login_receipt => { verdict => 'allow' } });
is($ans->{reason}, 'receipt.field_invalid', 'a malformed receipt refused');
$ans = sock_request($sock, { version => 1, login_receipt =>
    { %$good, time_ms => 1000 } });
is($ans->{verdict}, 'recorded', 'a well-formed one from an allowed uid: recorded');
$r = receipt($ans->{receipt});
ok($r->{time_ms} > 1_600_000_000_000, '... at the daemon\'s time, not the submitter\'s');
is(stop_serve($spid), 0, 'serve stops');

# A daemon that does not list our uid refuses; principals then denies.
$conf = issuer_conf($p, policy => "$d/policy.yaml",
                    extra => 'allow_login_uid ' . ($< + 1) . "\n");
$spid = start_serve($conf, $sock);
$ans = sock_request($sock, { version => 1, login_receipt => $good });
is($ans->{reason}, 'ssh.peer_not_allowed', 'a uid not on allow_login_uid: refused');
($rc, $out, $err) = principals("$d/login.conf");
is($rc, 1, 'principals: receipt refused by the daemon, no own writer: deny');
is($out, '', '... nothing printed');
like($err, qr/ssh\.peer_not_allowed/, '... with the daemon\'s reason');
$l = last_logged();
is($l->{verdict}, 'deny', '... the log line says deny, as sshd was told');
is($l->{reason}, 'ssh.peer_not_allowed', '... with that reason');
ok(!exists $l->{receipt}, '... and names no receipt');
is(stop_serve($spid), 0, 'serve stops');

# No daemon at all.
($rc, $out, $err) = principals("$d/login.conf");
is($rc, 2, 'daemon down and no own writer: deny (operational error)');
is($out, '', '... nothing printed');
$l = last_logged();
is($l->{verdict}, 'deny', '... the log line says deny, not the unrecorded allow');
is($l->{reason}, 'internal.io_error', '... with the reason sshd was given');
spew("$d/rcpt-login.key", slurp($p->{rcpt_key}), 0600);
spew("$d/fallback.conf", $base . "journal_socket $sock\n"
     . "journal $p->{journal}\nreceipt_key $d/rcpt-login.key\n", 0644);
($rc, $out, $err) = principals("$d/fallback.conf");
is($rc, 0, 'daemon down, own writer configured: allowed') or diag $err;
$r = receipt(last_logged()->{receipt});
like($r->{writer} // '', qr/^ssh-login-/, '... recorded by its own writer log');

($rc, $out, $err) = journal_verify($p);
is($rc, 0, 'the journal verifies') or diag($out, $err);

done_testing();
