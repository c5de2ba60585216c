#!/usr/bin/perl
# Attestation results through nginx (wid_attestation_header): results
# accepted only from trusted_verifiers keys, age and type checked, bound
# to the authenticated SVID, the rule's effective tier applied, cached
# with a JWT-SVID; and every row of seed 000's fail-closed table as a
# request whose receipt carries the reason code.
#
# Results are made at test time: one through the verifier bridge itself
# (`wid attest verify --kind k8s_psat ... --sign-key`), the others signed
# here with the verifier's Ed25519 key so that each can be wrong in
# exactly one way.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::ECC;
use Crypt::PK::Ed25519;
use Digest::SHA qw(sha256 sha256_hex);
use JSON::PP;
use MIME::Base64 qw(encode_base64url);
use Test::More;
use Time::HiRes qw(sleep);
use WidNginx;

my $t = WidNginx->new;
my $pki = $t->path('pki');
$t->server_cert;
$t->receipt_key;

$t->pki('td', $pki, 'example.org');
my %leaf = (
    web     => 'spiffe://example.org/frontend/web',
    db      => 'spiffe://example.org/backend/db',
    no_td   => 'spiffe:///frontend/web',
    no_path => 'spiffe://example.org',
);
$t->pki('leaf', $pki, 'example.org', "$pki/$_", '--id', $leaf{$_})
    for sort keys %leaf;
my %cert = map { $_ => [cert => "$pki/$_.pem", key => "$pki/$_.key"] }
    keys %leaf;
$t->jwt_authority('example.org', 'ex-1');

# Verifier keys: the bridge (verified tier), a weaker bridge (attested
# tier), and a key nobody trusts.
my %vkey;
for my $name (qw(bridge weak rogue legacy)) {
    my ($rc, $out) = $t->wid('keygen', '--out', "$pki/$name");
    die "wid keygen: $out" if $rc;
    $vkey{$name} = Crypt::PK::Ed25519->new("$pki/$name.key");
}
sub pub_pem {
    my $pem = $t->read_file("pki/$_[0].pub");
    $pem =~ s/^/          /mg;
    return $pem;
}
sub kid { substr(sha256_hex($_[0]->export_key_raw('public')), 0, 16) }

my $BRIDGE = 'https://bridge.example';
my $SCHEMA = 'wid.attestation-result.v1';

$t->write_file('policy.yaml', <<"EOF");
version: 1
rules:
  attested:
    allow: ["*"]
    require_workload_identity:
      trust_domain: example.org
      path_prefixes: [/frontend]
      credential_kinds: [x509_svid, jwt_svid]
    require_runtime_assurance_tier: verified
  open:
    default: allow
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
      keyless:
        schema: $SCHEMA
        verifier: https://keyless.example
        effective_tier: verified
        max_evidence_age_seconds: 120
        allowed_attestation_types: [k8s_psat]
      legacy:
        schema: chio.runtime-attestation.v1
        verifier: https://legacy.example
        verifier_family: spiffe
        effective_tier: verified
        max_evidence_age_seconds: 120
        allowed_attestation_types: [k8s_psat]
        key: |
@{[ pub_pem('legacy') ]}
EOF

# A result JWS signed by `key` (default: the bridge); every payload field
# can be replaced; kid names the signing key unless `kid_of` says other.
my $nres = 0;
sub result {
    my (%o) = @_;
    my $key = $vkey{$o{key} // 'bridge'};
    my $now = time;
    $nres++;
    my $uri = $o{uri} // $leaf{web};
    my $p = {
        schema => $SCHEMA, verifier => $BRIDGE,
        issuedAt => $now - 5, expiresAt => $now + 300,
        evidenceSha256 => sha256_hex("evidence $nres"),
        attestationType => 'k8s_psat',
        workloadIdentity => { scheme => 'spiffe', uri => $uri },
        tier => 'verified', subject => 'system:serviceaccount:web:web',
        selectors => [ 'k8s:ns:web' ],
        %{ $o{set} || {} },
    };
    my $h = { alg => 'EdDSA', typ => 'wid-attestation-result+jws',
              kid => kid($vkey{$o{kid_of} // $o{key} // 'bridge'}) };
    my $json = JSON::PP->new->canonical;
    my $input = encode_base64url($json->encode($h)) . '.'
        . encode_base64url($json->encode($p));
    return ("$input." . encode_base64url($key->sign_message($input)),
            $p->{evidenceSha256});
}

# A key that cannot verify results (P-256) fails nginx -t with the entry.
{
    my $bad = Crypt::PK::ECC->new;
    $bad->generate_key('secp256r1');
    my $pem = $bad->export_key_pem('public');
    $pem =~ s/^/          /mg;
    $t->write_file('bad-key.yaml', <<"EOF");
version: 1
rules:
  open:
    default: allow
extensions:
  runtime_assurance:
    trusted_verifiers:
      p256:
        schema: $SCHEMA
        verifier: $BRIDGE
        effective_tier: verified
        max_evidence_age_seconds: 120
        allowed_attestation_types: [k8s_psat]
        key: |
$pem
EOF
    my ($ok, $out) = $t->test_config(<<'EOF');
http {
    wid_trust_bundle example.org %%PKI%%/example.org.pem;
    wid_policy       %%PREFIX%%/bad-key.yaml;
    wid_journal      %%PREFIX%%/journal key=%%PKI%%/receipt.key;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { wid on; wid_rule open; }
    }
}
EOF
    ok(!$ok, 'nginx -t: a trusted verifier key that is not Ed25519 fails');
    # The policy loader refuses it, with the position of the key.
    like($out, qr/bad-key\.yaml"?:\d+:\d+: .*Ed25519.*policy\.bad_value/,
         '... naming the file, the entry and the reason');
}

$t->www_pages("ok\n", map { "$_/index.html" } qw(. open noheader));

$t->run(<<'EOF');
http {
    wid_trust_bundle example.org %%PKI%%/example.org.pem;
    wid_trust_bundle example.org %%PKI%%/example.org.jwt.json;
    wid_policy       %%PREFIX%%/policy.yaml;
    wid_journal      %%PREFIX%%/journal key=%%PKI%%/receipt.key
                     checkpoint_records=10 checkpoint_interval=200ms;
    wid_cache_zone   wid:1m;
    wid_jwt_audience wid-test;
    wid_attestation_header X-Attestation-Result;

    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        ssl_verify_client   optional_no_ca;

        add_header X-Wid "$wid_verdict $wid_reason" always;
        add_header X-Wid-Tier "$wid_tier" always;
        add_header X-Wid-Receipt "$wid_receipt_id" always;
        add_header X-Wid-Cache "$wid_cache" always;

        root %%PREFIX%%/www;

        location / {
            wid on;
            wid_rule attested;
        }

        location /open/ {
            wid on;
            wid_rule open;
        }

        location /noheader/ {
            wid on;
            wid_rule attested;
            wid_attestation_header X-Somewhere-Else;
        }
    }
}
EOF

my %receipt_of;         # receipt id => [status, reason] expected
sub req {
    my ($path, $who, $att, %o) = @_;
    my @h = $o{headers} ? @{ $o{headers} } : ();
    push @h, 'X-Attestation-Result' => $att if defined $att;
    return $t->get($path, ($who ? @{ $cert{$who} } : ()),
                   headers => \@h);
}
sub denies {
    my ($r, $status, $reason, $name) = @_;
    is($r->{status}, $status, "$name: $status");
    is($r->{headers}{'x-wid'}, "deny $reason", "$name: $reason");
    $receipt_of{ $r->{headers}{'x-wid-receipt'} // '' } = $reason;
}
sub allows {
    my ($r, $tier, $name) = @_;
    is($r->{status}, 200, "$name: 200");
    is($r->{headers}{'x-wid'}, 'allow ok', "$name: allowed");
    is($r->{headers}{'x-wid-tier'}, $tier, "$name: \$wid_tier $tier");
    $receipt_of{ $r->{headers}{'x-wid-receipt'} // '' } = 'ok';
}

my ($r, $jws, $ev, %att_receipt);

$t->error_log_like(qr/trusted verifier "legacy" never matches a wid attestation result/,
                   'a keyed verifier that can never match a result is pointed out');

# --- the verifier bridge's own result ------------------------------------

{
    my $k8s = Crypt::PK::ECC->new;
    $k8s->generate_key('secp256r1');
    my $jwk = decode_json($k8s->export_key_jwk('public'));
    $t->write_file('k8s.jwks', encode_json({ keys => [
        { %$jwk, kid => 'k1', use => 'sig', alg => 'ES256' } ] }));
    my $iss = 'https://kubernetes.default.svc.cluster.local';
    my $now = time;
    my $token = encode_jwt(alg => 'ES256', key => $k8s,
        extra_headers => { kid => 'k1' },
        payload => { iss => $iss, aud => ['wid'], exp => $now + 600,
                     iat => $now - 5, nbf => $now - 5,
                     sub => 'system:serviceaccount:web:web',
                     'kubernetes.io' => { namespace => 'web',
                         serviceaccount => { name => 'web', uid => 's1' },
                         pod => { name => 'web-1', uid => 'p1' } } });
    my $tokfile = $t->write_file('psat.jwt', "$token\n");
    my ($rc, $out) = $t->wid('attest', 'verify', '--kind', 'k8s_psat',
        '--evidence', $tokfile, '--jwks', $t->path('k8s.jwks'),
        '--issuer', $iss, '--audience', 'wid', '--verifier', $BRIDGE,
        '--spiffe-id', $leaf{web}, '--sign-key', "$pki/bridge.key");
    is($rc, 0, 'wid attest verify --sign-key: a result') or diag $out;
    my $a = eval { decode_json($out) } || {};
    $jws = $a->{result};
    $ev = $a->{evidenceSha256};
    is($ev, sha256_hex($token),
       '(the result carries the SHA-256 of the token)');
}

$r = req('/index.html', 'web', $jws);
allows($r, 'verified', "bridge result for the SVID's own SPIFFE ID");
$att_receipt{bridge} = [ $r->{headers}{'x-wid-receipt'}, $ev ];

$r = req('/index.html', 'web');
denies($r, 403, 'policy.attestation_missing',
       'tier requirement unmet: no attestation result');

$r = req('/noheader/index.html', 'web', $jws);
denies($r, 403, 'policy.attestation_missing',
       'the result in another header than the configured one counts for nothing');

$r = req('/open/index.html', 'web');
allows($r, 'none', 'a rule without a tier needs no result');

$r = req('/open/index.html', 'web', $jws);
allows($r, 'verified', 'a verified result on a rule without a tier');

# --- seed 000, fail-closed table -------------------------------------------

# 1. Explicit workloadIdentity conflicts with the authenticated identity.
($jws) = result(uri => 'spiffe://example.org/frontend/api');
$r = req('/index.html', 'web', $jws);
denies($r, 403, 'attest.identity_conflict',
       'fail-closed 1: result for another SPIFFE ID than the SVID');
$r = req('/open/index.html', 'web', $jws);
denies($r, 403, 'attest.identity_conflict',
       'fail-closed 1: a conflict denies even where no tier is required');

# 2. Malformed SPIFFE URI (missing trust domain, empty path): in the SVID
#    and in the result.
$r = req('/index.html', 'no_td', (result(uri => $leaf{no_td}))[0]);
denies($r, 401, 'x509.spiffe_id_invalid',
       'fail-closed 2: SVID with no trust domain');
$r = req('/index.html', 'no_path', (result(uri => $leaf{no_path}))[0]);
denies($r, 401, 'x509.leaf_root_path',
       'fail-closed 2: SVID with an empty path');
$r = req('/index.html', 'web', (result(uri => 'spiffe:///frontend/web'))[0]);
denies($r, 403, 'id.trust_domain_empty',
       'fail-closed 2: result whose SPIFFE ID has no trust domain');
$r = req('/index.html', 'web', (result(uri => 'spiffe://example.org/frontend/'))[0]);
denies($r, 403, 'id.path_trailing_slash',
       'fail-closed 2: result whose SPIFFE ID is malformed');
$r = req('/index.html', 'web', (result(uri => 'spiffe://example.org'))[0]);
denies($r, 403, 'attest.identity_conflict',
       'fail-closed 2: result for the bare trust domain');

# 3. The presented identity fails require_workload_identity, even with a
#    valid result of its own.
$r = req('/index.html', 'db', (result(uri => $leaf{db}))[0]);
denies($r, 403, 'policy.path_prefix',
       'fail-closed 3: identity outside the path prefixes');

# 4. Evidence older than max_evidence_age_seconds (120), even though the
#    result itself has not expired; expired and future results too.
my $now = time;
$r = req('/index.html', 'web', (result(set => { issuedAt => $now - 300,
                                      expiresAt => $now + 300 }))[0]);
denies($r, 403, 'attest.evidence_stale',
       'fail-closed 4: evidence older than max_evidence_age_seconds');
$r = req('/index.html', 'web', (result(set => { issuedAt => $now - 60,
                                      expiresAt => $now - 1 }))[0]);
denies($r, 403, 'attest.evidence_stale', 'expired result');
$r = req('/index.html', 'web', (result(set => { issuedAt => $now + 60,
                                      expiresAt => $now + 300 }))[0]);
denies($r, 403, 'attest.not_yet_valid', 'result issued in the future');

# 5. The bridge projects a non-SPIFFE identifier.
$r = req('/index.html', 'web', (result(set => { workloadIdentity => {
    scheme => 'k8s', uri => 'system:serviceaccount:web:web' } }))[0]);
denies($r, 403, 'id.wrong_scheme',
       'fail-closed 5: verifier projects a service-account name');
$r = req('/index.html', 'web', (result(uri => 'arn:aws:iam::123456789012:role/web'))[0]);
denies($r, 403, 'id.wrong_scheme',
       'fail-closed 5: verifier projects an ARN as a SPIFFE URI');

# 6. A tier requirement unmet: a trusted verifier of a lower tier; a
#    result claiming "verified" does not change that.
$r = req('/index.html', 'web', (result(key => 'weak',
    set => { verifier => 'https://weak.example' }))[0]);
denies($r, 403, 'policy.tier_insufficient',
       'tier unmet: the verifier is trusted for "attested" only');
is($r->{headers}{'x-wid-tier'}, 'attested',
   '... $wid_tier is the effective tier, not the claimed one');
$att_receipt{weak} = [ $r->{headers}{'x-wid-receipt'} ];

# 7. A result from an untrusted key, or claiming a trusted key's id.
$r = req('/index.html', 'web', (result(key => 'rogue'))[0]);
denies($r, 403, 'attest.untrusted_verifier',
       'untrusted key: result signed by a key no verifier has');
$r = req('/index.html', 'web', (result(key => 'rogue',
    set => { verifier => 'https://keyless.example' }))[0]);
denies($r, 403, 'attest.untrusted_verifier',
       'untrusted key: a keyless trusted verifier vouches for nothing');
$r = req('/index.html', 'web', (result(key => 'rogue', kid_of => 'bridge'))[0]);
denies($r, 403, 'attest.result_bad_signature',
       'untrusted key: forged under the bridge key id');
$r = req('/index.html', 'web', (result(key => 'weak', set => { verifier => $BRIDGE }))[0]);
denies($r, 403, 'policy.verifier_key_mismatch',
       "a trusted key speaking for another verifier's name");
$r = req('/index.html', 'web', (result(set => { verifier => 'https://nobody.example' }))[0]);
denies($r, 403, 'policy.untrusted_evidence',
       'a trusted key naming a verifier the policy does not know');

$r = req('/index.html', 'web', (result(key => 'legacy',
    set => { verifier => 'https://legacy.example' }))[0]);
denies($r, 403, 'policy.untrusted_evidence',
       'a key trusted under another schema vouches for no wid result');

# 8. A wrong attestation type for the verifier.
$r = req('/index.html', 'web', (result(set => { attestationType => 'aws_iid' }))[0]);
denies($r, 403, 'attest.type_not_allowed',
       'wrong type: aws_iid is not allowed for the bridge');
$r = req('/index.html', 'web', (result(key => 'weak',
    set => { verifier => 'https://weak.example',
             attestationType => 'tpm_quote' }))[0]);
denies($r, 403, 'attest.type_not_allowed',
       "wrong type: the verifier's own list applies (tpm_quote not for weak)");

# --- malformed and ambiguous headers -----------------------------------

$r = req('/index.html', 'web', 'not-a-result');
denies($r, 403, 'attest.result_malformed', 'garbage in the header');
$r = req('/index.html', 'web', (result(set => { schema => 'chio.runtime-attestation.v1' }))[0]);
denies($r, 403, 'attest.result_schema_unknown', 'another schema');
($jws) = result();
$r = req('/index.html', 'web', undef, headers => [ 'X-Attestation-Result' => $jws,
                                         'X-Attestation-Result' => $jws ]);
denies($r, 403, 'http.multiple_attestations', 'the header sent twice');
$r = req('/open/index.html', undef, $jws);
denies($r, 403, 'policy.evidence_unbound',
       'a result without an authenticated identity');

# --- JWT-SVIDs: the verified result cached with the identity -------------

my $tok = $t->mint_jwt(kid => 'ex-1', sub => $leaf{web});
my @bearer = (Authorization => "Bearer $tok");
($jws) = result();

$r = req('/index.html', undef, $jws, headers => [ @bearer ]);
allows($r, 'verified', 'JWT-SVID with a result');
is($r->{headers}{'x-wid-cache'}, 'miss', '... verified');
$r = req('/index.html', undef, $jws, headers => [ @bearer ]);
allows($r, 'verified', 'same token, same result');
is($r->{headers}{'x-wid-cache'}, 'zone_hit',
   '... from the cache, with its tier');

$r = req('/index.html', undef, undef, headers => [ @bearer ]);
denies($r, 403, 'policy.attestation_missing',
       'same token without the result: the cached tier does not carry over');
my ($other) = result(uri => 'spiffe://example.org/frontend/api');
$r = req('/index.html', undef, $other, headers => [ @bearer ]);
denies($r, 403, 'attest.identity_conflict',
       'same token, a result for someone else: verified, refused');
is($r->{headers}{'x-wid-cache'}, 'miss', '... never from the cache');
$r = req('/index.html', undef, $other, headers => [ @bearer ]);
is($r->{headers}{'x-wid-cache'}, 'miss', '... a refused result is not cached');

# The entry expires with the result's age limit, before the token: a
# result 118 s old is good for 2 more seconds; once past, the request is
# verified again (attest.*, not the policy's own re-check).
$now = time;
($jws) = result(set => { issuedAt => $now - 118, expiresAt => $now + 300 });
$r = req('/index.html', undef, $jws, headers => [ @bearer ]);
allows($r, 'verified', 'result near its age limit');
$r = req('/index.html', undef, $jws, headers => [ @bearer ]);
is($r->{headers}{'x-wid-cache'}, 'zone_hit', '... cached');
sleep 3.2;
$r = req('/index.html', undef, $jws, headers => [ @bearer ]);
denies($r, 403, 'attest.evidence_stale', '... past its age: stale');
is($r->{headers}{'x-wid-cache'}, 'miss',
   '... the cache entry expired with the result, not with the token');

# --- receipts --------------------------------------------------------------

$t->stop;
$t->no_crashes;

my ($rc, $out) = $t->journal_verify($t->path('journal'));
is($rc, 0, 'wid journal verify') or diag $out;

my %by_id = map { ($_->{id} // '') => $_ } $t->journal_query($t->path('journal'));
my @missing = grep { !$by_id{$_} || ($by_id{$_}{reason} // '') ne $receipt_of{$_} }
    sort keys %receipt_of;
is_deeply(\@missing, [], 'every decision above has a receipt with its reason code')
    or diag explain [ map { [ $_, $receipt_of{$_}, $by_id{$_}{reason} ] } @missing ];
ok(!exists $receipt_of{''}, 'every response named its receipt');

my $b = $by_id{ $att_receipt{bridge}[0] } || {};
is($b->{attestation}{tier}, 'verified', 'receipt: tier');
is($b->{attestation}{schema}, $SCHEMA, 'receipt: schema');
is($b->{attestation}{verifier}, $BRIDGE, 'receipt: verifier');
is($b->{attestation}{evidence_hash}, $att_receipt{bridge}[1],
   "receipt: the evidence hash is the result's evidenceSha256");
is($b->{identity}{spiffe_id}, $leaf{web}, 'receipt: identity');

my $w = $by_id{ $att_receipt{weak}[0] } || {};
is($w->{attestation}{tier}, 'attested', 'deny receipt: the effective tier');
is($w->{attestation}{verifier}, 'https://weak.example',
   'deny receipt: the verifier');

my ($garbage) = grep { ($_->{reason} // '') eq 'attest.result_malformed' }
    values %by_id;
is($garbage->{attestation}{evidence_hash}, sha256_hex('not-a-result'),
   'refused result: the receipt keeps the SHA-256 of the header as sent');
ok(!$garbage->{attestation}{schema}, '... and no schema or verifier');

done_testing;
