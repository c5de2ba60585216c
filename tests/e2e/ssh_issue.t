#!/usr/bin/perl
# Evidence-gated issuance without sshd: `issue --config` and the `serve`
# daemon over its Unix socket.  Every request, allowed or refused, leaves
# one ssh_issue receipt; the journal verifies after every step.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cwd qw(abs_path);
use Digest::SHA qw(sha256_hex);
use MIME::Base64 qw(decode_base64 encode_base64);
use File::Temp qw(tempdir);
use Test::More;
use WidSshd qw(run slurp spew helper_bin make_user_key);
use WidIssue qw(setup_td mint_jwt write_policy issuer_conf start_serve
                stop_serve sock_request sock_raw journal_verify
                journal_receipts);

plan skip_all => 'ssh-wid-helper not built (run make)' unless -x helper_bin();

my $H = helper_bin();
my $d = tempdir('wid-issue-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{WID_KEEP});
my $p = setup_td($d);
write_policy("$d/policy.yaml", user => 'deploy');
my $conf = issuer_conf($p, policy => "$d/policy.yaml");
my $key = make_user_key($d, 'id');
my $other_key = make_user_key($d, 'other');
my $publine = slurp("$key.pub");
chomp $publine;
my $jwt = mint_jwt($p);
spew("$d/good.jwt", $jwt);

my $requests = 0;       # every request must leave exactly one receipt

sub verified {
    my ($what) = @_;
    my ($rc, $out, $err) = journal_verify($p);
    is($rc, 0, "journal verifies after $what") or diag($out, $err);
}

sub cli {
    my (@args) = @_;
    $requests++;
    return run($H, 'issue', '--config', $conf, '--pubkey', "$key.pub", @args);
}

sub cert_text {
    my ($line) = @_;
    spew("$d/tmp-cert.pub", $line);
    my ($rc, $out) = run('/usr/bin/ssh-keygen', '-L', '-f', "$d/tmp-cert.pub");
    return $rc == 0 ? $out : '';
}

# --- issue --config: JWT-SVID ---
my ($rc, $out, $err) = cli('--jwt', "\@$d/good.jwt", '--out', "$d/jwt-cert.pub");
is($rc, 0, 'JWT-SVID for our audience: certificate issued') or diag($err);
like($err, qr/allow serial \d+ valid \d+\.\.\d+ receipt (wr1-[0-9a-f]{32})/,
     'serial, validity and receipt reported');
my ($rid) = $err =~ /receipt (wr1-[0-9a-f]{32})/;
my $text = slurp("$d/jwt-cert.pub");
($rc, $out) = run('/usr/bin/ssh-keygen', '-L', '-f', "$d/jwt-cert.pub");
is($rc, 0, 'ssh-keygen -L parses it');
like($out, qr/Key ID: "spiffe:\/\/a\.org\/workload receipt=\Q$rid\E rule=ssh_e2e cred=jwt_svid tier=none"/,
     'key id carries SPIFFE ID, receipt id, rule, credential, tier');
like($out, qr/Principals: \n\s+deploy\n\s+backup\n/, 'principals from the rule');
like($out, qr/source-address 127\.0\.0\.0\/8,::1/, 'source-address from the rule');
like($out, qr/Extensions: \n\s+permit-pty\n/, 'only the granted extension');
my ($from, $to) = $out =~ /Valid: from (\S+) to (\S+)/;
my ($cert_serial) = $out =~ /Serial: (\d+)/;
ok($from && $to, 'validity shown');
my $idx = slurp($p->{index});
like($idx, qr/"key_id":"spiffe:\/\/a\.org\/workload receipt=\Q$rid\E/,
     'issued-certificates index updated');

my $r = journal_receipts($p)->[-1];
is($r->{id}, $rid, 'the receipt named in the key id is in the journal');
is($r->{surface}, 'ssh_issue', 'surface ssh_issue');
is($r->{verdict}, 'allow', 'verdict allow');
is($r->{identity}{spiffe_id}, 'spiffe://a.org/workload', 'identity recorded');
is($r->{identity}{credential_kind}, 'jwt_svid', 'credential kind recorded');
is($r->{identity}{credential_id},
   sha256_hex(substr($jwt, 0, rindex($jwt, '.'))),
   'credential id: the SHA-256 of the signing input, as nginx records it');
ok($r->{policy}{hash} =~ /^[0-9a-f]{64}$/, 'policy hash recorded');
is($r->{ssh}{principals}, 'deploy,backup', 'principals recorded');
is($r->{ssh}{serial}, $cert_serial,
   'serial recorded exactly as in the certificate (a decimal string)');
like($idx, qr/"serial":"\Q$cert_serial\E"/, 'and in the index');
like($r->{request}{peer}, qr/^cli uid=\d+/, 'requester recorded');
verified('a JWT issuance');

# TTL: clamped to the rule's maximum (300 s) plus at most 60 s backdate.
($rc, $out, $err) = cli('--jwt', "\@$d/good.jwt", '--ttl', '100000', '--json');
is($rc, 0, 'TTL above the rule maximum is clamped, not refused');
my $j = JSON::PP->new->decode($out);
ok($j->{valid_before} - time <= 300 && $j->{valid_before} - time > 280,
   'valid_before at most the rule maximum from now');
ok(time - $j->{valid_after} <= 60 + 2 && time - $j->{valid_after} >= 0,
   'backdated by at most 60 s');

# TTL clamped to the credential's own expiry.
spew("$d/short.jwt", mint_jwt($p, exp => time + 90));
($rc, $out, $err) = cli('--jwt', "\@$d/short.jwt", '--json');
is($rc, 0, 'short-lived JWT-SVID accepted');
$j = JSON::PP->new->decode($out);
ok($j->{valid_before} <= time + 90, 'certificate never outlives the JWT-SVID');

# A subset of principals and extensions may be asked for, never more.
($rc, $out, $err) = cli('--jwt', "\@$d/good.jwt", '--principal', 'backup',
                        '--extension', 'permit-pty', '--json');
is($rc, 0, 'subset of principals');
is_deeply(JSON::PP->new->decode($out)->{principals}, ['backup'],
          'only the principal asked for');
for my $case (
    [ 'principal outside the rule', ['--principal', 'root'],
      'ssh.principal_not_allowed' ],
    [ 'principal with a newline', ['--principal', "deploy\nroot"],
      'ssh.principal_invalid' ],
    [ 'principal with a comma', ['--principal', 'deploy,root'],
      'ssh.principal_invalid' ],
    [ 'principal with a space', ['--principal', 'deploy root'],
      'ssh.principal_invalid' ],
    [ 'extension not granted', ['--extension', 'permit-port-forwarding'],
      'ssh.extension_not_granted' ],
    [ 'extension OpenSSH does not define', ['--extension', 'permit-root'],
      'ssh.extension_unknown' ],
    [ 'TTL overflow', ['--ttl', '18446744073709551617'], 'ssh.ttl_invalid' ],
    [ 'TTL zero', ['--ttl', '0'], 'ssh.ttl_invalid' ],
    [ 'rule not served', ['--rule', 'ssh_other'], 'ssh.rule_not_offered' ],
    [ 'rule without an ssh block', ['--rule', 'http_only'], 'ssh.rule_no_ssh' ],
    [ 'rule needing an attested tier (no attestation yet)',
      ['--rule', 'ssh_attested'], 'policy.attestation_missing' ],
) {
    my ($name, $args, $code) = @$case;
    ($rc, $out, $err) = cli('--jwt', "\@$d/good.jwt", @$args);
    is($rc, 1, "$name: refused");
    like($err, qr/deny \Q$code\E receipt wr1-/, "$name: $code, with a receipt");
}

# JWT-SVIDs that are not for us.
spew("$d/aud.jwt", mint_jwt($p, aud => ['someone-else']));
($rc, $out, $err) = cli('--jwt', "\@$d/aud.jwt");
is($rc, 1, 'JWT-SVID for another audience refused');
like($err, qr/deny jwt\.aud_mismatch/, 'jwt.aud_mismatch');
{
    # Refused before the policy was asked: the policy in force is still named.
    my ($id) = $err =~ /receipt (wr1-[0-9a-f]+)/;
    my ($r) = grep { $_->{id} eq ($id // '') } @{ journal_receipts($p) };
    like($r && $r->{policy}{hash} // '', qr/^[0-9a-f]{64}$/,
         '... its receipt names the policy in force');
}
($rc, $out, $err) = cli('--jwt', "\@$d/jwt/tok/valid_es256.jwt");
like($err, qr/deny jwt\.aud_mismatch/, 'mint-jwt token for wid-test: wrong audience');
spew("$d/other.jwt", mint_jwt($p, sub => 'spiffe://a.org/other'));
($rc, $out, $err) = cli('--jwt', "\@$d/other.jwt");
is($rc, 1, 'workload outside the rule refused');
like($err, qr/deny policy\.path_prefix/, 'policy.path_prefix');
($rc, $out, $err) = cli('--jwt', "\@$d/jwt/tok/valid_b.jwt");
like($err, qr/deny (jwt|bundle|x509)\.\S+/, 'token of a trust domain with no bundle refused');
verified('JWT refusals');

# --- issue --config: X.509-SVID with proof of possession ---
($rc, $out, $err) = run($H, 'sign-challenge', '--key', "$d/workload.key",
                        '--pubkey', "$key.pub", '--audience', 'wid-ssh-test');
is($rc, 0, 'sign-challenge makes a proof') or diag($err);
like($out, qr/^wid-ssh-pop-v1 \d+ [A-Za-z0-9+\/=]+\n$/, 'proof line format');
spew("$d/proof", $out);
($rc, $out, $err) = cli('--x509', "$d/workload.pem", '--proof', "$d/proof",
                        '--out', "$d/x509-cert.pub");
is($rc, 0, 'X.509-SVID with proof of possession: issued') or diag($err);
($rc, $out) = run('/usr/bin/ssh-keygen', '-L', '-f', "$d/x509-cert.pub");
like($out, qr/cred=x509_svid/, 'key id says x509_svid');
{
    # The leaf's SHA-256 fingerprint, as nginx records an X.509-SVID.
    my ($b64) = slurp("$d/workload.pem")
                =~ /-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----/s;
    my $x = journal_receipts($p)->[-1];
    is($x->{identity}{credential_kind}, 'x509_svid', 'X.509: kind recorded');
    is($x->{identity}{credential_id}, sha256_hex(decode_base64($b64)),
       'X.509: credential id is the leaf fingerprint');
}

# The same proof, made with openssl, as docs/ssh.md describes.
my $now = time;
($rc, $out) = run($H, 'sign-challenge', '--print-challenge', '--pubkey',
                  "$key.pub", '--audience', 'wid-ssh-test', '--time', $now);
spew("$d/challenge", $out);
is($out, "wid-ssh-pop-v1\naudience wid-ssh-test\ntime $now\nssh-key "
         . join(' ', (split ' ', $publine)[0, 1]) . "\n",
   'challenge text as documented');
($rc, undef, $err) = run('/usr/bin/openssl', 'dgst', '-sha256', '-sign',
                         "$d/workload.key", '-out', "$d/sig", "$d/challenge");
is($rc, 0, 'openssl dgst -sha256 -sign') or diag($err);
spew("$d/proof-openssl", "wid-ssh-pop-v1 $now " . encode_base64(slurp("$d/sig"), '') . "\n");
($rc, $out, $err) = cli('--x509', "$d/workload.pem", '--proof', "$d/proof-openssl");
is($rc, 0, 'proof made with openssl accepted') or diag($err);

# The audience is one line of what is signed: an empty one, or one with
# a newline or another control character, is refused, nothing signed.
for my $aud (['', 'empty'], ["wid-ssh-test\ntime 1", 'a newline'],
             ["wid\tssh", 'a tab'], [' wid-ssh-test', 'a leading space'],
             ['a' x 1025, '1025 bytes']) {
    ($rc, $out, $err) = run($H, 'sign-challenge', '--key', "$d/workload.key",
                            '--pubkey', "$key.pub", '--audience', $aud->[0]);
    is($rc, 2, "sign-challenge --audience with $aud->[1]: exit 2");
    is($out, '', '... nothing signed');
    like($err, qr/internal\.config_error.*--audience: an audience is 1-1024 bytes/,
         '... says why');
    ($rc, $out) = run($H, 'sign-challenge', '--print-challenge', '--pubkey',
                      "$key.pub", '--audience', $aud->[0]);
    is($rc, 2, '... --print-challenge too');
}
($rc, $out, $err) = run($H, 'issue', '--config', $conf, '--pubkey',
                        "$key.pub", '--x509', "$d/workload.pem",
                        '--svid-key', "$d/workload.key", '--audience',
                        "wid-ssh-test\n");
is($rc, 2, 'issue --svid-key --audience with a newline: exit 2');
like($err, qr/--audience: an audience is/, '... says why');

# --proof and --svid-key are two sources of one proof: refused together
# (before, --svid-key was silently ignored), nothing issued or recorded.
($rc, $out, $err) = run($H, 'issue', '--config', $conf, '--pubkey',
                        "$key.pub", '--x509', "$d/workload.pem", '--proof',
                        "$d/proof", '--svid-key', "$d/workload.key",
                        '--out', "$d/both-cert.pub");
is($rc, 2, '--proof with --svid-key: usage error (exit 2)');
like($err, qr/--proof and --svid-key exclude each other/, '... says why');
ok(!-e "$d/both-cert.pub", '... no certificate written');

# An SVID key that is a FIFO is refused at once, not waited on.
system('mkfifo', "$d/fifo.key") == 0 or die 'mkfifo';
($rc, $out, $err) = run('timeout', '10', $H, 'sign-challenge', '--key',
                        "$d/fifo.key", '--pubkey', "$key.pub", '--audience',
                        'wid-ssh-test');
is($rc, 2, 'sign-challenge --key FIFO: refused at once (exit 2)');
like($err, qr/internal\.io_error.*fifo\.key/, '... with the reason and file');
($rc, $out, $err) = run('timeout', '10', $H, 'issue', '--config', $conf,
                        '--pubkey', "$key.pub", '--x509', "$d/workload.pem",
                        '--svid-key', "$d/fifo.key");
is($rc, 2, 'issue --svid-key FIFO: refused at once (exit 2)');
like($err, qr/internal\.io_error.*fifo\.key/, '... with the reason and file');

($rc, $out, $err) = cli('--x509', "$d/workload.pem");
is($rc, 1, 'X.509-SVID without proof of possession refused');
like($err, qr/deny ssh\.pop_missing/, 'ssh.pop_missing');
($rc, $out, $err) = run($H, 'sign-challenge', '--key', "$d/workload.key",
                        '--pubkey', "$other_key.pub", '--audience', 'wid-ssh-test');
spew("$d/proof-other", $out);
($rc, $out, $err) = cli('--x509', "$d/workload.pem", '--proof', "$d/proof-other");
is($rc, 1, 'proof over another SSH key refused');
like($err, qr/deny ssh\.pop_invalid/, 'ssh.pop_invalid');
($rc, $out) = run($H, 'sign-challenge', '--key', "$d/workload.key", '--pubkey',
                  "$key.pub", '--audience', 'another-helper');
spew("$d/proof-aud", $out);
($rc, $out, $err) = cli('--x509', "$d/workload.pem", '--proof', "$d/proof-aud");
like($err, qr/deny ssh\.pop_invalid/, 'proof for another audience: ssh.pop_invalid');
($rc, $out) = run($H, 'sign-challenge', '--key', "$d/other.key", '--pubkey',
                  "$key.pub", '--audience', 'wid-ssh-test');
spew("$d/proof-key", $out);
($rc, $out, $err) = cli('--x509', "$d/workload.pem", '--proof', "$d/proof-key");
like($err, qr/deny ssh\.pop_invalid/, "proof made with another SVID's key: ssh.pop_invalid");
($rc, $out) = run($H, 'sign-challenge', '--key', "$d/workload.key", '--pubkey',
                  "$key.pub", '--audience', 'wid-ssh-test', '--time', time - 3600);
spew("$d/proof-old", $out);
($rc, $out, $err) = cli('--x509', "$d/workload.pem", '--proof', "$d/proof-old");
like($err, qr/deny ssh\.pop_stale/, 'an hour-old proof: ssh.pop_stale');
spew("$d/proof-bad", "wid-ssh-pop-v1 12 !!!\n");
($rc, $out, $err) = cli('--x509', "$d/workload.pem", '--proof', "$d/proof-bad");
like($err, qr/deny ssh\.pop_malformed/, 'garbage proof: ssh.pop_malformed');
($rc, $out, $err) = cli('--jwt', "\@$d/good.jwt", '--x509', "$d/workload.pem",
                        '--proof', "$d/proof");
like($err, qr/deny ssh\.evidence_missing/, 'two kinds of evidence at once refused');
verified('X.509 issuances and refusals');

# Fail closed on a policy that does not load.
spew("$d/broken.yaml", "rules: [\n", 0644);
my $bconf = issuer_conf($p, policy => "$d/broken.yaml", path => "$d/broken.conf");
($rc, $out, $err) = run($H, 'issue', '--config', $bconf, '--pubkey', "$key.pub",
                        '--jwt', "\@$d/good.jwt");
is($rc, 2, 'issuer refuses to start on a broken policy');
like($err, qr/policy\.syntax_error/, 'with the policy reason');

# --- serve ---
my $sock = "$d/issue.sock";
my $pid = start_serve($conf, $sock);
my $mode = (stat $sock)[2] & 07777;
is(sprintf('%04o', $mode), '0660', 'socket mode 0660 by default');

my $ans = sock_request($sock, { version => 1, pubkey => $publine, jwt => $jwt });
$requests++;
is($ans->{verdict}, 'allow', 'serve: JWT-SVID request allowed');
like($ans->{certificate}, qr/^ssh-ed25519-cert-v01\@openssh\.com AAAA/,
     'serve: certificate returned');
like(cert_text($ans->{certificate}), qr/receipt=\Q$ans->{receipt}\E/,
     'serve: key id names the receipt');
my $perl = abs_path($^X);
my $perl_sha = sha256_hex(slurp($perl));
like($ans->{peer}, qr/^uid=$< gid=\d+ pid=$$ start=\d+ exe=\Q$perl\E exe_sha256=$perl_sha$/,
     'serve: peer attested (uid, gid, pid, start time, executable and its SHA-256)');
$r = journal_receipts($p)->[-1];
is($r->{id}, $ans->{receipt}, 'serve: receipt in the journal');
is($r->{request}{peer}, $ans->{peer}, 'serve: peer facts on the receipt');

# the CLI as a client of the daemon
$requests++;
($rc, $out, $err) = run($H, 'issue', '--socket', $sock, '--pubkey', "$key.pub",
                        '--x509', "$d/workload.pem", '--svid-key',
                        "$d/workload.key", '--audience', 'wid-ssh-test',
                        '--out', "$d/sock-cert.pub");
is($rc, 0, 'issue --socket with X.509-SVID and proof') or diag($err);
like(slurp("$d/sock-cert.pub"), qr/cred=x509_svid/, 'certificate written');

# hostile requests on the wire
for my $case (
    [ 'unknown member', { version => 1, pubkey => $publine, jwt => $jwt, admin => JSON::PP::true },
      'ssh.request_malformed' ],
    [ 'principal with newline', { pubkey => $publine, jwt => $jwt, principals => ["deploy\nroot"] },
      'ssh.principal_invalid' ],
    [ 'principal with comma', { pubkey => $publine, jwt => $jwt, principals => ['deploy,root'] },
      'ssh.principal_invalid' ],
    [ 'principal with space', { pubkey => $publine, jwt => $jwt, principals => ['deploy root'] },
      'ssh.principal_invalid' ],
    [ '257 principals', { pubkey => $publine, jwt => $jwt, principals => [ map { "p$_" } 1 .. 257 ] },
      'ssh.too_many_principals' ],
    [ 'TTL negative', { pubkey => $publine, jwt => $jwt, ttl => -1 }, 'ssh.ttl_invalid' ],
    [ 'TTL real', { pubkey => $publine, jwt => $jwt, ttl => 1e30 }, 'ssh.ttl_invalid' ],
    [ 'TTL as text', { pubkey => $publine, jwt => $jwt, ttl => '300' }, 'ssh.ttl_invalid' ],
    [ 'huge rule name', { pubkey => $publine, jwt => $jwt, rule => 'r' x 60000 },
      'ssh.rule_not_offered' ],
    [ 'no evidence', { pubkey => $publine }, 'ssh.evidence_missing' ],
    [ 'bad public key', { pubkey => 'ssh-rsa AAAA', jwt => $jwt }, 'ssh.key_type_unsupported|ssh.pubkey_malformed' ],
    [ 'X.509 without proof', { pubkey => $publine, x509 => slurp("$d/workload.pem") },
      'ssh.pop_missing' ],
) {
    my ($name, $req, $code) = @$case;
    $ans = sock_request($sock, $req);
    $requests++;
    is($ans->{verdict}, 'deny', "serve: $name refused");
    like($ans->{reason}, qr/^(?:$code)$/, "serve: $name: $ans->{reason}");
    like($ans->{receipt} // '', qr/^wr1-/, "serve: $name: recorded");
}
$ans = sock_request($sock, '{"pubkey":"x","ttl":100000000000000000000000}');
$requests++;
is($ans->{reason}, 'ssh.request_malformed', 'serve: TTL beyond JSON integers: malformed');
$ans = sock_raw($sock, pack('N', 10 * 1024 * 1024) . 'x');
$requests++;
is($ans->{reason}, 'ssh.request_malformed', 'serve: 10 MiB length prefix refused unread');
$ans = sock_raw($sock, pack('N', 5) . 'nojso');
$requests++;
is($ans->{reason}, 'ssh.request_malformed', 'serve: not JSON');
verified('serve requests');

# the policy is re-read when it changes; a policy that stops loading denies
write_policy("$d/policy.yaml", user => 'deploy', prefix => '/nobody');
$ans = sock_request($sock, { pubkey => $publine, jwt => $jwt });
$requests++;
is($ans->{reason}, 'policy.path_prefix', 'serve: tightened policy applies at once');
spew("$d/policy.yaml", "rules: [\n", 0644);
$ans = sock_request($sock, { pubkey => $publine, jwt => $jwt });
$requests++;
is($ans->{reason}, 'policy.syntax_error', 'serve: unloadable policy denies (fail closed)');
write_policy("$d/policy.yaml", user => 'deploy');
$ans = sock_request($sock, { pubkey => $publine, jwt => $jwt });
$requests++;
is($ans->{verdict}, 'allow', 'serve: good policy again, allowed again');

is(stop_serve($pid), 0, 'serve stops cleanly on SIGTERM');
ok(!-e $sock, 'socket removed');
($rc, $out, $err) = journal_verify($p);
is($rc, 0, 'journal verifies after shutdown');
unlike($out . $err, qr/unsigned|warning\(s\): [1-9]/, 'final checkpoint covers every receipt');

# allow-list: a uid that is not ours
my $aconf = issuer_conf($p, policy => "$d/policy.yaml", path => "$d/allow.conf",
                        extra => "allow_uid 4242424\nsocket_mode 0600\n");
$pid = start_serve($aconf, $sock);
is(sprintf('%04o', (stat $sock)[2] & 07777), '0600', 'socket_mode honoured');
$ans = sock_request($sock, { pubkey => $publine, jwt => $jwt });
$requests++;
is($ans->{reason}, 'ssh.peer_not_allowed', 'peer uid not on the allow-list refused');
like($ans->{receipt}, qr/^wr1-/, 'and recorded');
is(stop_serve($pid), 0, 'stopped');
my $econf = issuer_conf($p, policy => "$d/policy.yaml", path => "$d/exe.conf",
                        extra => "allow_exe_sha256 $perl_sha\n");
$pid = start_serve($econf, $sock);
$ans = sock_request($sock, { pubkey => $publine, jwt => $jwt });
$requests++;
is($ans->{verdict}, 'allow', 'peer executable on the allow-list admitted');
$requests++;
($rc, $out, $err) = run($H, 'issue', '--socket', $sock, '--pubkey', "$key.pub",
                        '--jwt', "\@$d/good.jwt");
like($err, qr/deny ssh\.peer_not_allowed/, 'another executable refused');
is(stop_serve($pid), 0, 'stopped');

my $all = journal_receipts($p);
is(scalar(grep { $_->{surface} eq 'ssh_issue' } @$all), $requests,
   "one ssh_issue receipt per request ($requests)");
verified('everything');

done_testing();
