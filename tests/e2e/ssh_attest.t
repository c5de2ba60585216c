#!/usr/bin/perl
# Runtime attestation in SSH issuance: a signed attestation result (the
# verifier bridge's JWS, `wid attest verify ... --sign-key`) presented
# with the SVID, verified with the policy's trusted_verifiers keys only;
# the entry that verified it decides the tier; refusals carry reason codes
# on the ssh_issue receipt; the tier goes into the key id and is what
# `principals` re-decides at login.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::ECC;
use Crypt::PK::Ed25519;
use Digest::SHA qw(sha256_hex);
use File::Temp qw(tempdir);
use JSON::PP;
use MIME::Base64 qw(encode_base64url);
use Test::More;
use WidSshd qw(run slurp spew helper_bin make_user_key);
use WidIssue qw(setup_td mint_jwt start_serve stop_serve sock_request
                journal_verify journal_receipts wid_bin);

plan skip_all => 'ssh-wid-helper not built (run make)' unless -x helper_bin();

my $H = helper_bin();
my $WID = wid_bin();
my $d = tempdir('wid-sshatt-XXXXXX', TMPDIR => 1,
                CLEANUP => !$ENV{WID_KEEP});
my $p = setup_td($d);
my $key = make_user_key($d, 'id');
spew("$d/good.jwt", mint_jwt($p));
my $json = JSON::PP->new->canonical;
my $ME = 'spiffe://a.org/workload';
my $BRIDGE = 'https://bridge.example';
my $SCHEMA = 'wid.attestation-result.v1';

# Verifier keys: the bridge (verified), a weaker one (attested), a key
# nobody trusts.
my %vkey;
for my $n (qw(bridge weak rogue)) {
    my ($rc, undef, $err) = run($WID, 'keygen', '--out', "$d/$n");
    die "keygen: $err" if $rc;
    $vkey{$n} = Crypt::PK::Ed25519->new("$d/$n.key");
}
sub pub_pem {
    my $pem = slurp("$d/$_[0].pub");
    $pem =~ s/^/          /mg;
    return $pem;
}

spew("$d/policy.yaml", <<"YAML", 0644);
version: 1
rules:
  ssh_verified:
    allow: [ssh_issue, ssh_login]
    require_workload_identity:
      trust_domain: a.org
      path_prefixes: [/workload]
    require_runtime_assurance_tier: verified
    ssh:
      principals: [deploy]
      max_ttl_seconds: 300
  ssh_attested:
    allow: [ssh_issue, ssh_login]
    require_workload_identity:
      trust_domain: a.org
      path_prefixes: [/workload]
    require_runtime_assurance_tier: attested
    ssh:
      principals: [deploy]
      max_ttl_seconds: 300
  ssh_open:
    allow: [ssh_issue, ssh_login]
    require_workload_identity:
      trust_domain: a.org
    ssh:
      principals: [deploy]
      max_ttl_seconds: 300
extensions:
  runtime_assurance:
    trusted_verifiers:
      bridge:
        schema: $SCHEMA
        verifier: $BRIDGE
        effective_tier: verified
        max_evidence_age_seconds: 120
        allowed_attestation_types: [k8s_psat, tpm_quote]
        key: |
@{[ pub_pem('bridge') ]}
      weak:
        schema: $SCHEMA
        verifier: https://weak.example
        effective_tier: attested
        max_evidence_age_seconds: 120
        allowed_attestation_types: [k8s_psat]
        key: |
@{[ pub_pem('weak') ]}
YAML

my $conf = "$d/issuer.conf";
spew($conf, "ca_key $p->{ca_key}\npolicy $d/policy.yaml\n"
          . "rule ssh_verified\nrule ssh_attested\nrule ssh_open\n"
          . "audience wid-ssh-test\nbundle a.org=$p->{jwt_bundle}\n"
          . "bundle a.org=$p->{x509_bundle}\n"
          . "journal $p->{journal}\nreceipt_key $p->{rcpt_key}\n"
          . "receipt_pubkey $p->{rcpt_pub}\nindex $p->{index}\n", 0600);

# A result as the bridge signs it, any payload field replaceable.
my $nres = 0;
sub result {
    my (%o) = @_;
    my $k = $vkey{$o{key} // 'bridge'};
    my $now = time;
    $nres++;
    my $pl = {
        schema => $SCHEMA, verifier => $BRIDGE,
        issuedAt => $now - 5, expiresAt => $now + 300,
        evidenceSha256 => sha256_hex("evidence $nres"),
        attestationType => 'k8s_psat',
        workloadIdentity => { scheme => 'spiffe', uri => $o{uri} // $ME },
        tier => 'verified', subject => 'system:serviceaccount:a:w',
        selectors => ['k8s:ns:a'],
        %{ $o{set} || {} },
    };
    my $h = { alg => 'EdDSA', typ => 'wid-attestation-result+jws',
              kid => substr(sha256_hex($k->export_key_raw('public')), 0, 16) };
    my $in = encode_base64url($json->encode($h)) . '.'
           . encode_base64url($json->encode($pl));
    my $f = "$d/result$nres.jws";
    spew($f, "$in." . encode_base64url($k->sign_message($in)) . "\n");
    return ($f, $pl->{evidenceSha256});
}

my $requests = 0;
sub issue {
    my ($rule, $att, @more) = @_;
    $requests++;
    return run($H, 'issue', '--config', $conf, '--pubkey', "$key.pub",
               '--jwt', "\@$d/good.jwt", '--rule', $rule,
               (defined $att ? ('--attestation-result', "\@$att") : ()),
               @more);
}
# The receipt named on stderr (every issue --config is its own writer,
# so export order is not request order).
sub receipt_of {
    my ($err) = @_;
    my ($id) = $err =~ /receipt (wr1-[0-9a-f]{32})/ or return {};
    my ($r) = grep { $_->{id} eq $id } @{ journal_receipts($p) };
    return $r // {};
}
sub refused {
    my ($what, $code, $rule, $att) = @_;
    my ($rc, $out, $err) = issue($rule, $att);
    is($rc, 1, "$what: refused");
    like($err, qr/deny \Q$code\E receipt wr1-/, "... with $code");
    is($out, '', '... no certificate');
    my $r = receipt_of($err);
    is($r->{verdict}, 'deny', '... deny receipt');
    is($r->{reason}, $code, "... $code on the receipt");
    return $r;
}

# --- a real bridge result: k8s PSAT verified and signed by `wid attest` ---
my $k8s = Crypt::PK::ECC->new;
$k8s->generate_key('secp256r1');
my $jwk = decode_json($k8s->export_key_jwk('public'));
spew("$d/k8s.jwks", encode_json({ keys => [ { %$jwk, kid => 'k1',
                                               use => 'sig', alg => 'ES256' } ] }));
my $now = time;
spew("$d/psat", encode_jwt(
    payload => { iss => 'https://k8s.example', aud => ['wid'],
                 exp => $now + 600, iat => $now - 5, nbf => $now - 5,
                 sub => 'system:serviceaccount:a:workload',
                 'kubernetes.io' => { namespace => 'a',
                     serviceaccount => { name => 'workload', uid => 's1' },
                     pod => { name => 'w-1', uid => 'p1' } } },
    key => $k8s, alg => 'ES256', extra_headers => { kid => 'k1' }));
my ($rc, $out, $err) = run($WID, 'attest', 'verify', '--kind', 'k8s_psat',
    '--evidence', "$d/psat", '--jwks', "$d/k8s.jwks", '--issuer',
    'https://k8s.example', '--audience', 'wid', '--verifier', $BRIDGE,
    '--spiffe-id', $ME, '--sign-key', "$d/bridge.key");
is($rc, 0, 'wid attest verify signs a result for the workload') or diag $err;
my $bridge = decode_json($out);
spew("$d/bridge.jws", "$bridge->{result}\n");

($rc, $out, $err) = issue('ssh_verified', "$d/bridge.jws",
                          '--out', "$d/v-cert.pub");
is($rc, 0, 'rule requiring verified: issued with a valid result') or diag $err;
my ($rid) = $err =~ /receipt (wr1-[0-9a-f]{32})/;
($rc, $out) = run('/usr/bin/ssh-keygen', '-L', '-f', "$d/v-cert.pub");
like($out, qr/Key ID: "\Q$ME\E receipt=\Q$rid\E rule=ssh_verified cred=jwt_svid tier=verified"/,
     'the key id carries tier=verified');
my $r = receipt_of($err);
is($r->{verdict}, 'allow', 'allow receipt');
is($r->{attestation}{tier}, 'verified', 'receipt: tier');
is($r->{attestation}{schema}, $SCHEMA, 'receipt: schema');
is($r->{attestation}{verifier}, $BRIDGE, 'receipt: verifier');
is($r->{attestation}{evidence_hash}, $bridge->{evidenceSha256},
   'receipt: the evidence hash of the PSAT the bridge verified');

# The same through the daemon's socket ("attestation" member).
my $sock = "$d/s.sock";
my $spid = start_serve($conf, $sock);
my $publine = slurp("$key.pub");
chomp $publine;
my ($f, $ev) = result();
my $ans = sock_request($sock, { version => 1, pubkey => $publine,
    jwt => slurp("$d/good.jwt"), rule => 'ssh_verified',
    attestation => do { my $t = slurp($f); chomp $t; $t } });
$requests++;
is($ans->{verdict}, 'allow', 'serve: issued with a valid result');
like($ans->{key_id}, qr/ tier=verified$/, 'serve: tier=verified in the key id');
$ans = sock_request($sock, { version => 1, pubkey => $publine,
    jwt => slurp("$d/good.jwt"), rule => 'ssh_verified', attestation => 42 });
$requests++;
is($ans->{reason}, 'ssh.request_malformed',
   'serve: an attestation that is not a string: ssh.request_malformed');
$ans = sock_request($sock, { version => 1, pubkey => $publine,
    jwt => slurp("$d/good.jwt"), rule => 'ssh_verified',
    attestation => 'not.a.jws' });
$requests++;
is($ans->{verdict}, 'deny', 'serve: garbage result refused');
like($ans->{reason}, qr/^attest\./, "... with an attest.* code ($ans->{reason})");
is(stop_serve($spid), 0, 'serve stops cleanly');

# The weaker verifier: its entry's tier applies, not the result's claim.
($f) = result(key => 'weak', set => { verifier => 'https://weak.example' });
($rc, $out, $err) = issue('ssh_attested', $f, '--json');
is($rc, 0, 'rule requiring attested: issued with the weak verifier') or diag $err;
like(decode_json($out)->{key_id}, qr/ tier=attested$/,
     'tier=attested (the entry\'s effective tier, though the result claims verified)');
refused('the same result for a rule requiring verified',
        'policy.tier_insufficient', 'ssh_verified', $f);

refused('no result for a rule requiring verified', 'policy.attestation_missing',
        'ssh_verified', undef);

# Stale: older than max_evidence_age_seconds, though not expired.
($f) = result(set => { issuedAt => time - 200, expiresAt => time + 600 });
$r = refused('a stale result', 'attest.evidence_stale', 'ssh_verified', $f);
is($r->{attestation}{verifier}, $BRIDGE,
   '... the verified but refused result is still named on the receipt');
ok($r->{attestation}{evidence_hash}, '... with its evidence hash');
# Expired.
($f) = result(set => { issuedAt => time - 100, expiresAt => time - 1 });
refused('an expired result', 'attest.evidence_stale', 'ssh_verified', $f);
# Another workload's result.
($f) = result(uri => 'spiffe://a.org/other');
refused('a result for another SPIFFE ID', 'attest.identity_conflict',
        'ssh_verified', $f);
# A key the policy does not trust (kid of its own key).
($f) = result(key => 'rogue');
$r = refused('a result from an untrusted key', 'attest.untrusted_verifier',
             'ssh_verified', $f);
ok(!exists $r->{attestation}{verifier}, '... and nothing it says is recorded');
# Signed by a trusted key but not allowed for this type.
($f) = result(set => { attestationType => 'github_oidc' });
refused('a result of a type the verifier does not allow',
        'attest.type_not_allowed', 'ssh_verified', $f);
# A refused result denies even on a rule that needs no tier.
($f) = result(key => 'rogue');
refused('an untrusted result on a rule without a tier',
        'attest.untrusted_verifier', 'ssh_open', $f);
($rc, $out, $err) = issue('ssh_open', undef);
is($rc, 0, 'that rule without a result: issued') or diag $err;
($f) = result();
($rc, $out, $err) = issue('ssh_open', $f, '--json');
like(decode_json($out)->{key_id}, qr/ tier=verified$/,
     'with a good result: the tier reached is recorded in the key id');

# An X.509-SVID with proof of possession, plus a result.
($f) = result();
($rc, $out, $err) = run($H, 'issue', '--config', $conf, '--pubkey',
    "$key.pub", '--x509', "$d/workload.pem", '--svid-key', "$d/workload.key",
    '--rule', 'ssh_verified', '--attestation-result', "\@$f", '--json');
$requests++;
is($rc, 0, 'X.509-SVID + result: issued') or diag $err;
like(decode_json($out)->{key_id}, qr/ cred=x509_svid tier=verified$/,
     'cred=x509_svid tier=verified');

# At login the tier comes from the key id: the verified certificate passes
# principals while the rule still asks for verified.
run('/usr/bin/ssh-keygen', '-q', '-k', '-f', "$d/krl", '/dev/null');
spew("$d/login.conf", "ca_pubkey $p->{ca_pub}\nkrl $d/krl\n"
                    . "policy $d/policy.yaml\nrule ssh_verified\n", 0644);
my (undef, $b64) = split ' ', slurp("$d/v-cert.pub");
($rc, $out, $err) = run($H, 'principals', '--config', "$d/login.conf",
    '--user', 'deploy', '--type', 'ssh-ed25519-cert-v01@openssh.com',
    '--cert', $b64);
is($rc, 0, 'principals: the tier=verified certificate logs in') or diag $err;
is($out, "deploy\n", '... as deploy');

my $all = journal_receipts($p);
is(scalar @$all, $requests, 'one ssh_issue receipt per request');
($rc, $out, $err) = journal_verify($p);
is($rc, 0, 'the journal verifies') or diag($out, $err);

done_testing();
