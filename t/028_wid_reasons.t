#!/usr/bin/perl
# Reason codes reachable over HTTP that no other t/ file triggers, each
# through a real request and asserted on the response and its receipt:
#
# - X.509: authorities in the trust bundle (which nginx never sees, so
#   optional_no_ca lets the handshake through) that are expired, not yet
#   valid, not a CA, without keyCertSign, or whose path length the chain
#   exceeds; a leaf whose signature does not verify;
# - JWT: no key of the token's algorithm in its trust domain;
# - http.tls_required over plain HTTP;
# - policy: a disabled rule, a credential kind the rule does not take, an
#   operation outside the tier profile's scope, evidence matched by an
#   entry without a key;
# - id.*: every SPIFFE ID rule, through an attestation result's
#   workloadIdentity.
#
# The codes that cannot be reached over HTTP, and why, are listed in
# docs/nginx.md ("Reason codes over HTTP").
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::Ed25519;
use Crypt::PK::RSA;
use Digest::SHA qw(sha256_hex);
use JSON::PP;
use MIME::Base64 qw(decode_base64 encode_base64 encode_base64url);
use Test::More;
use WidNginx;

my $t = WidNginx->new;
my $pki = $t->path('pki');
$t->server_cert;
$t->receipt_key;

# --- PKI: one trust domain per broken authority ----------------------------

my %td = (
    'example.org'     => [],
    'expired.test'    => ['--not-before=-30d', '--not-after=-1d'],
    'future.test'     => ['--not-before=+1d', '--not-after=+30d'],
    'notca.test'      => ['--root-not-ca'],
    'nocertsign.test' => ['--root-ku', 'digitalSignature,cRLSign'],
    'pathlen.test'    => ['--path-len', '0', '--intermediates', '1'],
);
for my $name (sort keys %td) {
    $t->pki('td', $pki, $name, @{$td{$name}});
    # The leaves themselves are valid now: nginx checks them.
    $t->pki('leaf', $pki, $name, "$pki/$name-w", '--id', "spiffe://$name/w");
}
$t->jwt_authority('example.org', 'ex-1');

# A leaf whose signature is one bit off (the last byte of the ECDSA s).
{
    my $pem = $t->read_file("$pki/example.org-w.leaf.pem");
    my ($b64) = $pem =~ /-----BEGIN CERTIFICATE-----\n(.*?)-----END/s;
    my $der = decode_base64($b64);
    substr($der, -1, 1) = chr(ord(substr($der, -1, 1)) ^ 0x01);
    $t->write_file('pki/badsig.pem', "-----BEGIN CERTIFICATE-----\n"
                   . encode_base64($der) . "-----END CERTIFICATE-----\n");
}
# A leaf with a negative serial number (RFC 5280 4.1.2.2: positive), made
# with the openssl CLI: the library refuses to build one.
{
    my $ext = $t->write_file('pki/neg.cnf', <<'EOF');
[ext]
subjectAltName = URI:spiffe://example.org/w
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
basicConstraints = critical,CA:FALSE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    my $out = `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $pki/neg.key -subj /CN=neg -out $pki/neg.csr 2>&1 && openssl x509 -req -in $pki/neg.csr -CA $pki/example.org/root.pem -CAkey $pki/example.org/root.key -set_serial -4660 -days 1 -extfile $ext -extensions ext -out $pki/neg.pem 2>&1`;
    die "openssl: $out" if $?;
}

my %cert = map { $_ => [cert => "$pki/$_-w.pem", key => "$pki/$_-w.key"] }
    keys %td;
$cert{badsig} = [cert => "$pki/badsig.pem", key => "$pki/example.org-w.key"];
$cert{negserial} = [cert => "$pki/neg.pem", key => "$pki/neg.key"];

my ($rc, $out) = $t->wid('keygen', '--out', "$pki/bridge");
die "wid keygen: $out" if $rc;
my $bridge = Crypt::PK::Ed25519->new("$pki/bridge.key");
(my $bridge_pub = $t->read_file('pki/bridge.pub')) =~ s/^/          /mg;

$t->write_file('policy.yaml', <<"EOF");
version: 1
rules:
  api:
    allow: [GET, POST]
    require_workload_identity:
      trust_domain: example.org
  x509_only:
    allow: [GET]
    require_workload_identity:
      trust_domain: example.org
      credential_kinds: [x509_svid]
  retired:
    enabled: false
    allow: [GET]
  attested:
    allow: [GET]
    require_workload_identity:
      trust_domain: example.org
    require_runtime_assurance_tier: verified
  anyone:
    default: allow
extensions:
  runtime_assurance:
    tiers:
      unattested:
        minimum_attestation_tier: none
        max_scope:
          operations: [GET]
      full:
        minimum_attestation_tier: verified
    trusted_verifiers:
      keyless:
        schema: wid.attestation-result.v1
        verifier: https://keyless.example
        effective_tier: verified
        max_evidence_age_seconds: 120
        allowed_attestation_types: [k8s_psat]
      bridge:
        schema: wid.attestation-result.v1
        verifier: https://bridge.example
        effective_tier: verified
        max_evidence_age_seconds: 120
        allowed_attestation_types: [k8s_psat]
        key: |
$bridge_pub
EOF

$t->www_pages("ok\n", map { "$_/index.html" } qw(. x509 jwt retired att any));

my $bundles = join "\n    ", map {
    "wid_trust_bundle $_ %%PKI%%/$_.pem;"
} sort keys %td;

$t->run(<<"EOF");
http {
    $bundles
    wid_trust_bundle example.org %%PKI%%/example.org.jwt.json;
    wid_policy       %%PREFIX%%/policy.yaml;
    wid_journal      %%PREFIX%%/journal key=%%PKI%%/receipt.key
                     checkpoint_interval=100ms;
    wid_cache_zone   wid:1m;

    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        listen 127.0.0.1:%%PORT_1%%;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        ssl_verify_client   optional_no_ca;
        ssl_session_cache   off;
        ssl_session_tickets off;
        root %%PREFIX%%/www;

        add_header X-Wid "\$wid_verdict \$wid_reason" always;
        add_header X-Wid-Tier "\$wid_tier" always;
        add_header X-Wid-Credential "[\$wid_credential]" always;

        wid on;
        wid_rule api;

        location / {
        }

        location /x509/ {
            wid_credential x509;
        }

        location /jwt/ {
            wid_rule x509_only;
            wid_jwt_audience wid-test;
        }

        location /retired/ {
            wid_rule retired;
        }

        location /att/ {
            wid_rule attested;
            wid_attestation_header X-Attestation-Result;
        }

        location /any/ {
            wid_rule anyone;
            wid_jwt_audience wid-test;
        }
    }
}
EOF

my %expect;     # receipt reason => count
sub denies {
    my ($r, $status, $reason, $name) = @_;
    is($r->{status}, $status, "$name: $status");
    is($r->{headers}{'x-wid'}, "deny $reason", "$name: $reason");
    $expect{$reason}++;
    return $r;
}
sub allows {
    my ($r, $name) = @_;
    is($r->{status}, 200, "$name: 200");
    is($r->{headers}{'x-wid'}, 'allow ok', "$name: allowed");
    $expect{ok}++;
}

# --- X.509 authorities nginx never sees -----------------------------------

allows($t->get('/index.html', @{$cert{'example.org'}}),
       'a sound authority (control)');
my $r = denies($t->get('/any/index.html', @{$cert{'expired.test'}}), 401,
               'x509.expired', 'authority in the bundle expired');
is($r->{headers}{'www-authenticate'},
   'Bearer realm="wid", error="invalid_token"', '... an invalid credential');
denies($t->get('/any/index.html', @{$cert{'future.test'}}), 401,
       'x509.not_yet_valid', 'authority in the bundle not yet valid');
denies($t->get('/any/index.html', @{$cert{'notca.test'}}), 401,
       'x509.signer_not_ca', 'authority in the bundle is no CA');
denies($t->get('/any/index.html', @{$cert{'nocertsign.test'}}), 401,
       'x509.signer_no_key_cert_sign',
       'authority in the bundle lacks keyCertSign');
denies($t->get('/any/index.html', @{$cert{'pathlen.test'}}), 401,
       'x509.chain_invalid',
       'the presented intermediate exceeds the authority\'s path length');
denies($t->get('/any/index.html', @{$cert{badsig}}), 401,
       'x509.bad_signature', 'a leaf whose signature does not verify');
denies($t->get('/any/index.html', @{$cert{negserial}}), 401,
       'x509.parse_error', 'a leaf with a negative serial number');

# --- JWT-SVIDs --------------------------------------------------------------

# example.org has one EC key: an RS256 token without kid finds none.
{
    my $rsa = Crypt::PK::RSA->new;
    $rsa->generate_key(256, 65537);
    my $tok = encode_jwt(
        payload => { sub => 'spiffe://example.org/w', aud => 'wid-test',
                     exp => time + 600, iat => time },
        alg => 'RS256', key => $rsa, extra_headers => { typ => 'JWT' });
    denies($t->get('/any/index.html',
                   headers => { Authorization => "Bearer $tok" }),
           401, 'jwt.no_key', 'no JWT authority for the token\'s alg');
    # expired.test has X.509 authorities only.
    $tok = encode_jwt(
        payload => { sub => 'spiffe://expired.test/w', aud => 'wid-test',
                     exp => time + 600, iat => time },
        alg => 'ES256', key => $t->{jwt_keys}{'ex-1'},
        extra_headers => { typ => 'JWT' });
    denies($t->get('/any/index.html',
                   headers => { Authorization => "Bearer $tok" }),
           401, 'jwt.no_key', 'a trust domain without JWT authorities');
}

# --- transport and policy ----------------------------------------------------

$r = denies($t->get('/x509/index.html', plain => 1, port => $t->port(1)),
            401, 'http.tls_required', 'X.509-SVIDs only, over plain HTTP');
is($r->{headers}{'www-authenticate'},
   'Bearer realm="wid", error="invalid_token"', '... challenged');
is($r->{headers}{'x-wid-credential'}, '[]',
   '... $wid_credential empty: nothing could be presented');
$t->error_log_like(qr/\[info\].*wid: credential rejected: http\.tls_required/,
                   '... logged at info, like a request without credential');
$r = denies($t->get('/x509/index.html'), 401, 'policy.identity_missing',
            'no credential at all');
$t->error_log_like(qr/\[info\].*wid: access denied: policy\.identity_missing/,
                   '... logged at info (auth_basic does the same)');
unlike($t->error_log, qr/\[error\].*wid: (?:access denied: policy\.identity_missing|credential rejected: http\.tls_required)/,
       '... never at error');
allows($t->get('/any/index.html', plain => 1, port => $t->port(1)),
       'plain HTTP where any credential (or none) is accepted');

denies($t->get('/retired/index.html', @{$cert{'example.org'}}), 403,
       'policy.rule_disabled', 'a disabled rule');

my $jwt = $t->mint_jwt(kid => 'ex-1', sub => 'spiffe://example.org/w');
denies($t->get('/jwt/index.html', headers => { Authorization => "Bearer $jwt" }),
       403, 'policy.credential_kind', 'a JWT-SVID for an X.509-only rule');
allows($t->get('/jwt/index.html', @{$cert{'example.org'}}),
       '... its X.509-SVID is fine');

allows($t->get('/index.html', @{$cert{'example.org'}}, method => 'GET'),
       'GET within the unattested tier profile');
denies($t->get('/index.html', @{$cert{'example.org'}}, method => 'POST'), 403,
       'policy.tier_scope_exceeded',
       'POST: allowed by the rule, not by the unattested tier profile');

# --- attestation results -------------------------------------------------

my $nres = 0;
sub result {
    my (%o) = @_;
    my $now = time;
    my $json = JSON::PP->new->canonical;
    my $h = { alg => 'EdDSA', typ => 'wid-attestation-result+jws',
              kid => substr(sha256_hex($bridge->export_key_raw('public')),
                            0, 16) };
    my $p = { schema => 'wid.attestation-result.v1',
              verifier => $o{verifier} // 'https://bridge.example',
              issuedAt => $now - 5, expiresAt => $now + 100,
              evidenceSha256 => sha256_hex('evidence ' . ++$nres),
              attestationType => 'k8s_psat',
              workloadIdentity => { scheme => 'spiffe',
                                    uri => $o{uri}
                                        // 'spiffe://example.org/w' },
              tier => 'verified' };
    my $in = encode_base64url($json->encode($h)) . '.'
        . encode_base64url($json->encode($p));
    return "$in." . encode_base64url($bridge->sign_message($in));
}
sub att {
    my ($res) = @_;
    return $t->get('/att/index.html', @{$cert{'example.org'}},
                   headers => { 'X-Attestation-Result' => $res });
}

$r = att(result());
allows($r, 'a result from the bridge (control)');
is($r->{headers}{'x-wid-tier'}, 'verified', '... tier verified');

# Signed by the bridge's key but naming the keyless entry's verifier: that
# entry decides, and it cannot authenticate anything.
$r = denies(att(result(verifier => 'https://keyless.example')), 403,
            'policy.verifier_without_key',
            'a result matched by a trusted verifier without a key');
is($r->{headers}{'x-wid-tier'}, 'none', '... worth no tier');

# Every SPIFFE ID rule, on the result's workloadIdentity.uri.
my @ids = (
    ['id.trust_domain_too_long', 'spiffe://' . ('a' x 256) . '/w'],
    ['id.trust_domain_uppercase', 'spiffe://Example.org/w'],
    ['id.trust_domain_bad_char', 'spiffe://exa!mple.org/w'],
    ['id.userinfo', 'spiffe://user@example.org/w'],
    ['id.port', 'spiffe://example.org:8443/w'],
    ['id.percent_encoding', 'spiffe://example.org/w%41'],
    ['id.query', 'spiffe://example.org/w?x=1'],
    ['id.fragment', 'spiffe://example.org/w#f'],
    ['id.path_empty_segment', 'spiffe://example.org/w//x'],
    ['id.path_dot_segment', 'spiffe://example.org/w/../x'],
    ['id.path_bad_char', 'spiffe://example.org/w/x!y'],
    # Empty or over 2048 bytes: refused as a malformed result before the
    # ID is parsed (id.empty and id.too_long are not reachable here).
    ['attest.result_malformed', ''],
    ['attest.result_malformed', 'spiffe://example.org/' . ('a' x 2100)],
);
for my $row (@ids) {
    my ($reason, $uri) = @$row;
    $r = denies(att(result(uri => $uri)), 403, $reason,
                'workloadIdentity ' . (length $uri > 40
                                       ? substr($uri, 0, 37) . '...' : "\"$uri\""));
    is($r->{headers}{'x-wid-tier'}, 'none', '... no tier');
}

# --- receipts ----------------------------------------------------------------

$t->stop;
$t->no_crashes;
unlike($t->error_log, qr/\[(alert|crit|emerg)\]/, 'no alert in the error log');
($rc, $out) = $t->journal_verify($t->path('journal'));
is($rc, 0, 'journal verifies') or diag $out;
my %got;
$got{$_->{reason}}++ for $t->journal_query($t->path('journal'));
is_deeply(\%got, \%expect, 'one receipt per request, with its reason')
    or diag explain [ \%got, \%expect ];

done_testing;
