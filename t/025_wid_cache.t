#!/usr/bin/perl
# The JWT-SVID caches, observed through $wid_cache on real keepalive TLS
# connections: miss (verified now), zone_hit (wid_cache_zone), conn_hit
# (the last token of this TLS connection, compared byte for byte).  A
# different token on the same connection is never a connection hit and
# gets its own verdict; a token that expires while the connection stays
# open is refused; the connection's token is bound to the location's
# audience and leeway; a bundle rotation invalidates both caches (and the
# connection's X.509-SVID); a policy change decides at once and drops
# cached attestation results.  A connection that keeps an identity also
# keeps its last decision, for the same location and operation only, over
# HTTP/1.1 keepalive and over the streams of one HTTP/2 connection.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::SHA qw(sha256_hex);
use JSON::PP;
use MIME::Base64 qw(encode_base64url);
use Crypt::PK::Ed25519;
use Test::More;
use Time::HiRes qw(sleep time);
use WidNginx;

my $t = WidNginx->new;
my $pki = $t->path('pki');
$t->server_cert;
$t->receipt_key;

$t->pki('td', "$pki/old", 'example.org');
$t->pki('td', "$pki/new", 'example.org');
$t->pki('leaf', "$pki/old", 'example.org', "$pki/svid",
        '--id', 'spiffe://example.org/w/x509');
my $old_pem = $t->read_file("$pki/old/example.org.pem");
my $new_pem = $t->read_file("$pki/new/example.org.pem");
$t->write_file('pki/example.org.pem', $old_pem);
$t->jwt_authority('example.org', 'k1');
my @svid = (cert => "$pki/svid.pem", key => "$pki/svid.key");

my ($rc, $out) = $t->wid('keygen', '--out', "$pki/bridge");
die "wid keygen: $out" if $rc;
my $bridge = Crypt::PK::Ed25519->new("$pki/bridge.key");
(my $bridge_pub = $t->read_file('pki/bridge.pub')) =~ s/^/          /mg;

sub policy {
    my ($prefix) = @_;
    $t->write_file('policy.yaml', <<"EOF");
version: 1
rules:
  api:
    allow: [GET]
    require_workload_identity:
      trust_domain: example.org
      path_prefixes: [$prefix]
  post_only:
    allow: [POST]
    require_workload_identity:
      trust_domain: example.org
      path_prefixes: [$prefix]
extensions:
  runtime_assurance:
    trusted_verifiers:
      bridge:
        schema: wid.attestation-result.v1
        verifier: https://bridge.example
        effective_tier: verified
        max_evidence_age_seconds: 600
        allowed_attestation_types: [k8s_psat]
        key: |
$bridge_pub
EOF
}
policy('/w');

$t->www_pages("ok\n", map { "$_/index.html" } qw(. aud2 leeway att delete post));

my $conf = <<'EOF';
http {
    wid_trust_bundle   example.org %%PKI%%/example.org.pem;
    wid_trust_bundle   example.org %%PKI%%/example.org.jwt.json;
    wid_bundle_refresh 200ms;
    wid_policy         %%PREFIX%%/policy.yaml;
    wid_journal        %%PREFIX%%/journal key=%%PKI%%/receipt.key
                       checkpoint_interval=100ms;
    wid_cache_zone     wid:1m;
    keepalive_requests 10000;

    server {
        listen 127.0.0.1:%%PORT_0%% ssl http2;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        ssl_verify_client   optional_no_ca;
        root %%PREFIX%%/www;

        add_header X-Wid "$wid_verdict $wid_reason" always;
        add_header X-Wid-Cache "$wid_cache" always;
        add_header X-Wid-Id "$wid_spiffe_id" always;
        add_header X-Wid-Tier "$wid_tier" always;

        wid on;
        wid_rule api;
        wid_jwt_audience wid-test;

        location / {
        }

        location /aud2/ {
            wid_jwt_audience wid-other;
        }

        location /leeway/ {
            wid_jwt_leeway 60s;
        }

        location /att/ {
            wid_attestation_header X-Attestation-Result;
        }

        location /delete/ {
            wid_operation DELETE;
        }

        location /post/ {
            wid_rule post_only;
        }
    }
}
EOF
$t->run($conf);

my %receipt;    # reason code => count, from the responses
my %sent;       # SHA-256 of every token sent => 1

# One request; asserts status, reason and $wid_cache.
sub check {
    my ($c, $uri, $tok, $status, $reason, $cache, $name, %h) = @_;
    my $r = $c->get($uri, headers => {
        ($tok ? (Authorization => "Bearer $tok") : ()), %h });
    is($r->{status}, $status, "$name: $status");
    is($r->{headers}{'x-wid'},
       ($status == 200 ? 'allow' : 'deny') . " $reason", "$name: $reason");
    is($r->{headers}{'x-wid-cache'} // '', $cache,
       "$name: \$wid_cache $cache");
    $receipt{$reason}++;
    $sent{cred_id($tok)} = 1 if $tok;
    return $r;
}

sub jwt { $t->mint_jwt(kid => 'k1', @_) }

# A JWT-SVID's credential id: the SHA-256 of its signing input, the
# token up to its last '.'.
sub cred_id {
    my $i = rindex($_[0], '.');
    return sha256_hex($i < 0 ? '' : substr($_[0], 0, $i));
}

# --- one connection: miss, zone hit, then the connection's own copy -------

my $a = jwt(sub => 'spiffe://example.org/w/a');
my $c = $t->conn;
check($c, '/index.html', $a, 200, 'ok', 'miss', 'first use: verified');
check($c, '/index.html', $a, 200, 'ok', 'zone_hit', 'again: from the zone');
my $r = check($c, '/index.html', $a, 200, 'ok', 'conn_hit',
              'again on the connection: no zone lookup');
is($r->{headers}{'x-wid-id'}, 'spiffe://example.org/w/a',
   'the identity comes with the connection hit');
check($c, '/index.html', $a, 200, 'ok', 'conn_hit', 'and stays a connection hit');

# A new connection starts with the zone.
my $c2 = $t->conn;
check($c2, '/index.html', $a, 200, 'ok', 'zone_hit', 'same token, new connection');
check($c2, '/index.html', $a, 200, 'ok', 'conn_hit', '... then its own copy');
$c2->close;

# --- another token on the same connection: its own verdict ----------------

my $denied = jwt(sub => 'spiffe://example.org/elsewhere');
check($c, '/index.html', $denied, 403, 'policy.path_prefix', 'miss',
      'a denied token after an allowed one');
check($c, '/index.html', $denied, 403, 'policy.path_prefix', 'zone_hit',
      '... denied from the zone');
check($c, '/index.html', $denied, 403, 'policy.path_prefix', 'conn_hit',
      '... and from the connection: the policy decides every time');
check($c, '/index.html', $a, 200, 'ok', 'zone_hit',
      'the allowed token after the denied one: allowed, not a connection hit');
check($c, '/index.html', $a, 200, 'ok', 'conn_hit', '... the connection keeps it again');

# Same length, one byte of the signature changed: the comparison with the
# connection's token must see it.
my $forged = $a;
my $i = length($forged) - 10;
substr($forged, $i, 1) = substr($forged, $i, 1) eq 'A' ? 'B' : 'A';
is(length $forged, length $a, 'forged token has the same length');
check($c, '/index.html', $forged, 401, 'jwt.bad_signature', 'miss',
      'a forged token of the same length after the real one');
check($c, '/index.html', $forged, 401, 'jwt.bad_signature', 'miss',
      '... a refused token is never cached');
check($c, '/index.html', $a, 200, 'ok', 'conn_hit',
      'the real token: still the connection\'s copy');

# Only a token the connection keeps skips the b64token check: one byte
# outside it, same length, is refused as malformed, not looked up.
my $bad = $a;
substr($bad, $i, 1) = '!';
check($c, '/index.html', $bad, 401, 'http.authorization_malformed', 'miss',
      'a byte outside b64token after the kept token');
check($c, '/index.html', $a, 200, 'ok', 'conn_hit',
      '... and the kept token is still the connection\'s');

my $b = jwt(sub => 'spiffe://example.org/w/b');
check($c, '/index.html', $b, 200, 'ok', 'miss', 'a second valid token: verified');
$r = check($c, '/index.html', $b, 200, 'ok', 'zone_hit', '... then from the zone');
is($r->{headers}{'x-wid-id'}, 'spiffe://example.org/w/b', '... its identity');
$r = check($c, '/index.html', $a, 200, 'ok', 'zone_hit',
           'back to the first: from the zone, with its own identity');
is($r->{headers}{'x-wid-id'}, 'spiffe://example.org/w/a', '... its identity');

# The connection's copy is rewritten in place when the next token fits
# in its block and replaced when it does not: a longer token, a shorter
# one, the longer one again, each with its own identity.
my $long = jwt(sub => 'spiffe://example.org/w/' . ('l' x 300));
check($c, '/index.html', $long, 200, 'ok', 'miss', 'a longer token');
check($c, '/index.html', $long, 200, 'ok', 'zone_hit', '... from the zone');
$r = check($c, '/index.html', $long, 200, 'ok', 'conn_hit',
           '... kept by the connection');
is($r->{headers}{'x-wid-id'}, 'spiffe://example.org/w/' . ('l' x 300),
   '... with its identity');
check($c, '/index.html', $b, 200, 'ok', 'zone_hit',
      'a shorter token after it: from the zone');
$r = check($c, '/index.html', $b, 200, 'ok', 'conn_hit',
           '... kept in the longer one\'s place');
is($r->{headers}{'x-wid-id'}, 'spiffe://example.org/w/b',
   '... with its own identity');
check($c, '/index.html', $long, 200, 'ok', 'zone_hit',
      'the longer token again: from the zone');
$r = check($c, '/index.html', $long, 200, 'ok', 'conn_hit',
           '... kept by the connection again');
is($r->{headers}{'x-wid-id'}, 'spiffe://example.org/w/' . ('l' x 300),
   '... with its identity');

check($c, '/index.html', undef, 401, 'policy.identity_missing', '',
      'no token on a connection that kept one: no identity');

# --- the connection's token is bound to the location's settings ---------

# For both audiences: verified again for the other one.
my $both = jwt(sub => 'spiffe://example.org/w/both',
               aud => ['wid-test', 'wid-other']);
check($c, '/index.html', $both, 200, 'ok', 'miss', 'token for two audiences');
check($c, '/index.html', $both, 200, 'ok', 'zone_hit', '... from the zone');
check($c, '/index.html', $both, 200, 'ok', 'conn_hit', '... from the connection');
check($c, '/aud2/index.html', $both, 200, 'ok', 'miss',
      'the other audience: not the connection\'s copy');
check($c, '/aud2/index.html', $a, 401, 'jwt.aud_mismatch', 'miss',
      'a token kept for one audience is refused for another');
check($c, '/index.html', $a, 200, 'ok', 'zone_hit', '... and still fine for its own');
check($c, '/index.html', $a, 200, 'ok', 'conn_hit', '... from the connection');
check($c, '/aud2/index.html', $a, 401, 'jwt.aud_mismatch', 'miss',
      '... also right after a connection hit');

# Expired 5 s ago: good only where 60 s of leeway are allowed.
my $now = int(time);
my $late = jwt(sub => 'spiffe://example.org/w/late', exp => $now - 5,
               iat => $now - 300);
check($c, '/leeway/index.html', $late, 200, 'ok', 'miss', 'expired within the leeway');
check($c, '/leeway/index.html', $late, 200, 'ok', 'zone_hit', '... from the zone');
check($c, '/leeway/index.html', $late, 200, 'ok', 'conn_hit', '... from the connection');
check($c, '/index.html', $late, 401, 'jwt.expired', 'miss',
      'a token kept under a leeway is refused where there is none');
check($c, '/leeway/index.html', $late, 200, 'ok', 'conn_hit',
      '... the leeway location still takes it (a refusal leaves the '
      . 'connection\'s token alone)');

# --- a token that expires while the connection stays open ----------------

$now = int(time);
my $exp = $now + 2;
my $short = jwt(sub => 'spiffe://example.org/w/short', exp => $exp,
                iat => $now);
check($c, '/index.html', $short, 200, 'ok', 'miss', 'short-lived token');
check($c, '/index.html', $short, 200, 'ok', 'zone_hit', '... from the zone');
check($c, '/index.html', $short, 200, 'ok', 'conn_hit', '... from the connection');
# The first second at which the verifier calls it expired (now >= exp).
sleep($exp - time + 0.05);
check($c, '/index.html', $short, 401, 'jwt.expired', 'miss',
      'expired while the connection stayed open: refused at once');
check($c, '/index.html', $short, 401, 'jwt.expired', 'miss', '... and again');
check($c2 = $t->conn, '/index.html', $short, 401, 'jwt.expired', 'miss',
      '... on a new connection too');
$c2->close;

# --- bundle rotation: JWT-SVIDs -------------------------------------------

# $c keeps $a (last zone hit above); make it a connection hit again.
check($c, '/index.html', $a, 200, 'ok', 'zone_hit', 'before rotation: zone');
check($c, '/index.html', $a, 200, 'ok', 'conn_hit', 'before rotation: connection');

# Another authority joins the bundle file: its content, and so its hash,
# changes; every cached verification by the old file is void.
$t->jwt_authority('example.org', 'k2');
sleep 0.6;
check($c, '/index.html', $a, 200, 'ok', 'miss',
      'bundle rewritten: verified again on the same connection');
check($c, '/index.html', $a, 200, 'ok', 'zone_hit', '... cached anew');
check($c, '/index.html', $a, 200, 'ok', 'conn_hit', '... and kept on the connection');

# The authority that signed it is withdrawn.
{
    local $t->{jwks}{'example.org'} = [ $t->{jwks}{'example.org'}[1] ];
    $t->write_jwks('example.org');
}
sleep 0.6;
check($c, '/index.html', $a, 401, 'jwt.kid_unknown', 'miss',
      'signing authority withdrawn: the connection\'s copy is not used');
check($c2 = $t->conn, '/index.html', $a, 401, 'jwt.kid_unknown', 'miss',
      '... nor the zone\'s, on a new connection');
$c2->close;
$t->write_jwks('example.org');      # both keys again
sleep 0.6;

# --- bundle rotation: the connection's X.509-SVID -------------------------

my $x = $t->conn(@svid);
check($x, '/index.html', undef, 200, 'ok', 'miss', 'X.509-SVID: verified');
$r = check($x, '/index.html', undef, 200, 'ok', 'conn_hit',
           'X.509-SVID: once per connection');
is($r->{headers}{'x-wid-id'}, 'spiffe://example.org/w/x509', '... identity');
$t->write_file('pki/example.org.pem', $old_pem . $new_pem);
sleep 0.6;
check($x, '/index.html', undef, 200, 'ok', 'miss',
      'X.509 bundle rewritten: verified again on the same connection');
check($x, '/index.html', undef, 200, 'ok', 'conn_hit', '... then kept');
$t->write_file('pki/example.org.pem', $new_pem);
sleep 0.6;
check($x, '/index.html', undef, 401, 'x509.untrusted', 'miss',
      'its CA removed: refused on the same connection');
$x->close;
$t->write_file('pki/example.org.pem', $old_pem);
sleep 0.6;

# --- an authority that ends before the leaf ------------------------------

# The connection keeps its X.509-SVID result only until the earliest
# notAfter of the verified path, here the bundle authority's.
my $t0 = time;
$t->pki('td', "$pki/short", 'example.org', '--not-after=+6s');
$t->pki('leaf', "$pki/short", 'example.org', "$pki/short-svid",
        '--id', 'spiffe://example.org/w/x509', '--not-after=+1d');
$t->write_file('pki/example.org.pem',
               $old_pem . $t->read_file("$pki/short/example.org.pem"));
sleep 0.6;
$x = $t->conn(cert => "$pki/short-svid.pem", key => "$pki/short-svid.key");
check($x, '/index.html', undef, 200, 'ok', 'miss',
      'authority valid for seconds: verified');
check($x, '/index.html', undef, 200, 'ok', 'conn_hit', '... and kept');
my $wait = $t0 + 7.5 - time;
sleep $wait if $wait > 0;
check($x, '/index.html', undef, 401, 'x509.expired', 'miss',
      'the authority expired: refused on the same connection');
$x->close;
$t->write_file('pki/example.org.pem', $old_pem);
sleep 0.6;

# --- the decision kept with the connection's identity --------------------

# A connection that keeps its identity also keeps its last decision, for
# the same location and operation only: every other request is decided
# by the policy, and none takes another's verdict.
sub decisions {
    my ($c, $tok, $what) = @_;
    for my $round (1, 2) {
        check($c, '/index.html', $tok, 200, 'ok', 'conn_hit',
              "$what, round $round: GET allowed");
        my $r = $c->get('/index.html', method => 'POST', headers => {
            ($tok ? (Authorization => "Bearer $tok") : ()) });
        is($r->{status}, 403, "$what, round $round: POST refused");
        is($r->{headers}{'x-wid'}, 'deny policy.operation_not_allowed',
           "$what, round $round: ... not on the allow list");
        $receipt{'policy.operation_not_allowed'}++;
        check($c, '/index.html', $tok, 200, 'ok', 'conn_hit',
              "$what, round $round: GET after POST allowed");
        check($c, '/delete/index.html', $tok, 403,
              'policy.operation_not_allowed', 'conn_hit',
              "$what, round $round: another location's operation refused");
        check($c, '/post/index.html', $tok, 403,
              'policy.operation_not_allowed', 'conn_hit',
              "$what, round $round: GET under another rule refused");
    }
}

$c = $t->conn;
check($c, '/index.html', $a, 200, 'ok', 'zone_hit', 'kept decisions: JWT-SVID');
decisions($c, $a, 'JWT-SVID');
$c->close;

$x = $t->conn(@svid);
check($x, '/index.html', undef, 200, 'ok', 'miss', 'kept decisions: X.509-SVID');
decisions($x, undef, 'X.509-SVID');

# The same over HTTP/2: the streams of one connection share what it keeps.
for my $case (['X.509-SVID', undef, 'miss', @svid],
              ['JWT-SVID', $a, 'zone_hit']) {
    my ($what, $tok, $first, %o) = @$case;
    my @r = $t->get_h2_many(
        [[GET => '/index.html'], [GET => '/index.html'],
         [POST => '/index.html'], [GET => '/post/index.html'],
         [GET => '/delete/index.html'], [GET => '/index.html']],
        %o, ($tok ? (headers => { Authorization => "Bearer $tok" }) : ()));
    is(scalar @r, 6, "HTTP/2, $what: six replies");
    is(join(' ', map { $_->{version} } @r), '2 2 2 2 2 2',
       "HTTP/2, $what: all over HTTP/2");
    is(join(' ', map { $_->{connects} } @r), '1 0 0 0 0 0',
       "HTTP/2, $what: one connection");
    is(join(' ', map { $_->{status} } @r), '200 200 403 403 403 200',
       "HTTP/2, $what: each request its own verdict");
    is(join(' ', map { $_->{headers}{'x-wid'} // '' } @r),
       join(' ', 'allow ok', 'allow ok',
            ('deny policy.operation_not_allowed') x 3, 'allow ok'),
       "HTTP/2, $what: ... and reason");
    is(join(' ', map { $_->{headers}{'x-wid-cache'} // '' } @r),
       "$first conn_hit conn_hit conn_hit conn_hit conn_hit",
       "HTTP/2, $what: kept by the connection after the first");
    $receipt{'policy.operation_not_allowed'} += 3;
    $receipt{ok} += 3;
}

# Another bundle file of the domain changes (a JWT authority added): the
# file that vouched for the X.509-SVID is unchanged, so it stays kept.
$t->jwt_authority('example.org', 'k9');
sleep 0.6;
check($x, '/index.html', undef, 200, 'ok', 'conn_hit',
      'another bundle file rewritten: the X.509-SVID is still kept');
$x->close;
$c2 = $t->conn;
check($c2, '/index.html', $a, 200, 'ok', 'miss',
      '... while a token of the rewritten file is verified again');
$c2->close;

# --- a policy change ------------------------------------------------------

# An attestation result sent with the token is cached with it, under the
# policy that trusted its verifier.
my $nres = 0;
sub result {
    my ($uri) = @_;
    my $time = int(time);
    my $json = JSON::PP->new->canonical;
    my $h = { alg => 'EdDSA', typ => 'wid-attestation-result+jws',
              kid => substr(sha256_hex($bridge->export_key_raw('public')),
                            0, 16) };
    my $p = { schema => 'wid.attestation-result.v1',
              verifier => 'https://bridge.example',
              issuedAt => $time - 5, expiresAt => $time + 300,
              evidenceSha256 => sha256_hex('evidence ' . ++$nres),
              attestationType => 'k8s_psat',
              workloadIdentity => { scheme => 'spiffe', uri => $uri },
              tier => 'verified' };
    my $in = encode_base64url($json->encode($h)) . '.'
        . encode_base64url($json->encode($p));
    return "$in." . encode_base64url($bridge->sign_message($in));
}

my $res = result('spiffe://example.org/w/a');
my @att = ('X-Attestation-Result' => $res);
$c = $t->conn;
$r = check($c, '/att/index.html', $a, 200, 'ok', 'miss', 'token with a result', @att);
is($r->{headers}{'x-wid-tier'}, 'verified', '... verified tier');
$r = check($c, '/att/index.html', $a, 200, 'ok', 'zone_hit', '... cached together',
           @att);
is($r->{headers}{'x-wid-tier'}, 'verified', '... with its tier');
check($c, '/att/index.html', $a, 200, 'ok', 'zone_hit',
      '... never from the connection (the result binds more)', @att);
check($c, '/index.html', $a, 200, 'ok', 'zone_hit', 'the token alone: zone');
check($c, '/index.html', $a, 200, 'ok', 'conn_hit', 'the token alone: connection');
$c->close;

# The policy moves the allowed path elsewhere; the same bytes change too.
policy('/v');
$t->reload;
$c = $t->conn;
$r = check($c, '/att/index.html', $a, 403, 'policy.path_prefix', 'miss',
           'after a policy change: the result is verified again', @att);
is($r->{headers}{'x-wid-tier'}, 'verified',
   '... under the new policy\'s verifier');
check($c, '/att/index.html', $a, 403, 'policy.path_prefix', 'zone_hit',
      '... and cached under it', @att);
check($c, '/index.html', $a, 403, 'policy.path_prefix', 'zone_hit',
      'the token alone: its verified identity survives the reload, '
      . 'the new policy decides');
check($c, '/index.html', $a, 403, 'policy.path_prefix', 'conn_hit',
      '... also from the connection');
my $v = jwt(sub => 'spiffe://example.org/v/c');
check($c, '/index.html', $v, 200, 'ok', 'miss', 'the new policy admits /v');
$c->close;

# --- receipts and health --------------------------------------------------

$t->stop;
$t->no_crashes;
unlike($t->error_log, qr/\[(alert|crit|emerg)\]/, 'no alert in the error log');

($rc, $out) = $t->journal_verify($t->path('journal'));
is($rc, 0, 'journal verifies') or diag $out;
my (%got, %cred);
for my $rcpt ($t->journal_query($t->path('journal'))) {
    $got{$rcpt->{reason}}++;
    my $id = $rcpt->{identity} // {};
    # (a refused token has no verified identity and no credential id)
    $cred{$id->{credential_id}}++
        if ($id->{credential_kind} // '') eq 'jwt_svid'
           && defined $id->{credential_id};
}
is_deeply(\%got, \%receipt, 'one receipt per request, with its reason')
    or diag explain [ \%got, \%receipt ];
# Verified now, from the zone or from the connection: the receipt names
# the token by the SHA-256 of what its issuer signed.
ok($cred{cred_id($a)} && $cred{cred_id($denied)},
   'JWT receipts carry the SHA-256 of the signing input as credential id');
is_deeply([ grep { !$sent{$_} } sort keys %cred ], [],
          '... and of no token that was not sent')
    or diag explain [ grep { !$sent{$_} } sort keys %cred ];

done_testing;
