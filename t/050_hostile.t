#!/usr/bin/perl
# Hostile input through real nginx: a table of malformed, oversized and
# duplicated headers, JWT attacks, X.509 leaf and chain violations and
# broken bundle rewrites.  Every case asserts the status and the reason
# code the client sees ($wid_reason in a response header); every case
# that wid decided must have a receipt with the same verdict and reason
# in the journal; requests that nginx itself refuses before the access
# phase (bad request line or header, oversized header, TLS handshake)
# must leave no receipt.  At the end: no worker died, the journal
# verifies.  Everything is generated at test time.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use MIME::Base64 qw(encode_base64);
use Crypt::PK::ECC;
use Crypt::PK::RSA;
use Crypt::Mac::HMAC qw(hmac);
use WidNginx;

# A refused TLS handshake must not end the test with the client's write.
$SIG{PIPE} = 'IGNORE';

my $t = WidNginx->new;
my $pki = $t->path('pki');
$t->receipt_key;

# widpki runs in one Python process per batch of commands (one process per
# certificate would spend most of this test starting Python).
my @batch;
sub pki { push @batch, [ map { "$_" } @_ ] }
sub pki_run {
    my $py = <<'PY';
import importlib.machinery, importlib.util, json, os, sys
loader = importlib.machinery.SourceFileLoader("widpki", sys.argv[1])
spec = importlib.util.spec_from_loader("widpki", loader)
m = importlib.util.module_from_spec(spec)
loader.exec_module(m)
out = sys.stdout
sys.stdout = open(os.devnull, "w")
for line in sys.stdin:
    sys.argv = ["widpki"] + json.loads(line)
    try:
        m.main()
    except SystemExit as e:
        if e.code:
            out.write("failed: %s\n" % line)
            sys.exit(1)
PY
    require JSON::PP;
    my $in = join '', map { JSON::PP::encode_json($_) . "\n" } @batch;
    @batch = ();
    my $script = $t->write_file('pki/batch.py', $py);
    open my $fh, '|-', '/usr/bin/python3', $script, $t->{pki_bin} or die "python3: $!";
    print $fh $in;
    close $fh or die "widpki batch failed";
}

# --- trust domains and X.509-SVIDs --------------------------------------
#
# example.org has 12 intermediates (int1 signed by the root, intN by
# int(N-1)): ordinary leaves are signed by int1; deeper signers give long
# chains.  other.org is a second, configured trust domain (the attacker's
# CA for cross-trust-domain forgeries); stray.org has no bundle in nginx.

pki('td', $pki, 'example.org', '--intermediates', 12);
pki('td', $pki, 'other.org');
pki('td', $pki, 'stray.org');

my %cert;
sub leaf {
    my ($name, $td, @args) = @_;
    pki('leaf', $pki, $td, "$pki/$name", @args);
    $cert{$name} = [cert => "$pki/$name.pem", key => "$pki/$name.key"];
}

my @int1 = ('--signer', 'int1');
leaf('good', 'example.org', @int1, '--id', 'spiffe://example.org/svc/web');
leaf('outside', 'example.org', @int1, '--id', 'spiffe://example.org/other');
leaf('caleaf', 'example.org', @int1, '--id', 'spiffe://example.org/svc/a',
     '--ca', '--ku', 'digitalSignature,keyCertSign');
leaf('ca_only', 'example.org', @int1, '--id', 'spiffe://example.org/svc/a',
     '--ca');
leaf('two_uris', 'example.org', @int1, '--id', 'spiffe://example.org/svc/a',
     '--id', 'spiffe://example.org/svc/b');
leaf('https_uri', 'example.org', @int1, '--id', 'https://example.org/svc/a');
leaf('no_uri', 'example.org', @int1, '--id', 'none', '--dns', 'svc.example');
leaf('root_path', 'example.org', @int1, '--id', 'spiffe://example.org');
leaf('bad_id', 'example.org', @int1, '--id', 'spiffe://example.org/svc/../x');
leaf('upper_td', 'example.org', @int1, '--id', 'spiffe://Example.org/svc/a');
leaf('pct_id', 'example.org', @int1, '--id', 'spiffe://example.org/svc%2Fa');
leaf('no_ds', 'example.org', @int1, '--id', 'spiffe://example.org/svc/a',
     '--ku', 'keyEncipherment');
leaf('no_ku', 'example.org', @int1, '--id', 'spiffe://example.org/svc/a',
     '--ku', 'none');
leaf('ku_noncrit', 'example.org', @int1, '--id',
     'spiffe://example.org/svc/a', '--ku-noncritical');
leaf('kcs', 'example.org', @int1, '--id', 'spiffe://example.org/svc/a',
     '--ku', 'digitalSignature,keyCertSign');
leaf('crl', 'example.org', @int1, '--id', 'spiffe://example.org/svc/a',
     '--ku', 'digitalSignature,cRLSign');
leaf('eku_code', 'example.org', @int1, '--id', 'spiffe://example.org/svc/a',
     '--eku', 'codeSigning');
leaf('eku_client', 'example.org', @int1, '--id',
     'spiffe://example.org/svc/eku', '--eku', 'clientAuth');
leaf('no_chain', 'example.org', @int1, '--id', 'spiffe://example.org/svc/a',
     '--no-chain');
leaf('depth7', 'example.org', '--signer', 'int7',
     '--id', 'spiffe://example.org/svc/deep');
leaf('depth8', 'example.org', '--signer', 'int8',
     '--id', 'spiffe://example.org/svc/deep');
leaf('depth12', 'example.org', '--signer', 'int12',
     '--id', 'spiffe://example.org/svc/deep');
leaf('rsa', 'example.org', @int1, '--key', 'rsa2048',
     '--id', 'spiffe://example.org/svc/rsa');
leaf('ed25519', 'example.org', @int1, '--key', 'ed25519',
     '--id', 'spiffe://example.org/svc/ed');
leaf('forged', 'other.org', '--id', 'spiffe://example.org/svc/web');
leaf('other', 'other.org', '--id', 'spiffe://other.org/svc/web');
leaf('stray', 'stray.org', '--id', 'spiffe://stray.org/svc/web');
leaf('stray_claims_ex', 'stray.org', '--id', 'spiffe://example.org/svc/web');
leaf('expired', 'example.org', @int1, '--id', 'spiffe://example.org/svc/a',
     '--not-before=-2h', '--not-after=-1h');
leaf('future', 'example.org', @int1, '--id', 'spiffe://example.org/svc/a',
     '--not-before=+1h', '--not-after=+2h');

# A leaf with thousands of SAN entries (about 40 KB): large but legal.
leaf('big', 'example.org', @int1, '--id', 'spiffe://example.org/svc/big',
     map { ('--dns', "host-$_.svc.example.org") } 1 .. 1500);

# Broken signing certificates: a trust-domain directory whose root is the
# real example.org root and whose int1 is a deliberately wrong CA made by
# widpki as a "leaf" of the root; leaves it signs carry it in their chain.
my @bad_signers;
sub bad_signer {
    my ($name, @args) = @_;
    pki('leaf', $pki, 'example.org', "$pki/$name-ca", '--signer', 'root',
        @args);
    push @bad_signers, $name;
}
sub bad_signer_leaf {
    my ($name) = @_;
    my $dir = "$pki/$name/example.org";
    system('mkdir', '-p', $dir) == 0 or die;
    $t->write_file("$dir/root.pem",
                   $t->read_file("$pki/example.org/root.pem"));
    $t->write_file("$dir/root.key",
                   $t->read_file("$pki/example.org/root.key"), 0600);
    $t->write_file("$dir/int1.pem", $t->read_file("$pki/$name-ca.leaf.pem"));
    $t->write_file("$dir/int1.key", $t->read_file("$pki/$name-ca.key"), 0600);
    pki('leaf', "$pki/$name", 'example.org', "$pki/$name",
        '--id', 'spiffe://example.org/svc/a');
    $cert{$name} = [cert => "$pki/$name.pem", key => "$pki/$name.key"];
}
bad_signer('int_no_kcs', '--id', 'none', '--ca',
           '--ku', 'digitalSignature,cRLSign');
bad_signer('int_not_ca', '--id', 'none', '--ku', 'digitalSignature,keyCertSign');
bad_signer('int_path', '--id', 'spiffe://example.org/ca', '--ca',
           '--ku', 'keyCertSign,cRLSign');
bad_signer('int_foreign', '--id', 'spiffe://other.org', '--ca',
           '--ku', 'keyCertSign,cRLSign');

# rot.org: the trust domain whose bundles are rewritten (rotation cases).
pki('td', $pki, 'rot.org');
leaf('rot', 'rot.org', '--id', 'spiffe://rot.org/svc');
pki('server', $pki, "$pki/server");
pki_run();
bad_signer_leaf($_) for @bad_signers;
pki_run();
$t->server_cert;

# A self-signed SVID.
system('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
       'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=self',
       '-addext', 'subjectAltName=URI:spiffe://example.org/svc/self',
       '-addext', 'basicConstraints=critical,CA:FALSE',
       '-addext', 'keyUsage=critical,digitalSignature',
       '-keyout', "$pki/self.key", '-out', "$pki/self.pem") == 0
    or die 'openssl req';
$cert{self} = [cert => "$pki/self.pem", key => "$pki/self.key"];

# A chain far beyond what a TLS server takes (OpenSSL's 100 KB limit on
# the peer's certificate list): the handshake is refused.
{
    my $big = $t->read_file("$pki/big.leaf.pem");
    $t->write_file("$pki/huge.pem", $big x 4);
    $cert{huge} = [cert => "$pki/huge.pem", key => "$pki/big.key"];
}

# --- JWT authorities ------------------------------------------------------

my $ec = $t->jwt_authority('example.org', 'ex-1');
my $ot = $t->jwt_authority('other.org', 'ot-1');
my $rsa = Crypt::PK::RSA->new;
$rsa->generate_key(256, 65537);
{
    my $jwk = $rsa->export_key_jwk('public', 1);
    $jwk->{kid} = 'ex-rsa';
    $jwk->{use} = 'jwt-svid';
    push @{$t->{jwks}{'example.org'}}, $jwk;
    $t->write_jwks('example.org');
}
my $ec384 = Crypt::PK::ECC->new;
$ec384->generate_key('secp384r1');
{
    my $jwk = $ec384->export_key_jwk('public', 1);
    $jwk->{kid} = 'ex-384';
    $jwk->{use} = 'jwt-svid';
    push @{$t->{jwks}{'example.org'}}, $jwk;
    $t->write_jwks('example.org');
}

sub b64u {
    my $s = encode_base64($_[0], '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

# A compact JWS from exact header and claims text (so that duplicate
# members, odd types and deep nesting can be written), signed as asked:
#   es256 (JOSE r||s, default), der (ES256 with a DER signature),
#   rs256, ps256, es384, hs256 (HMAC keyed with the PEM public key),
#   none (empty signature), or a literal signature string.
sub jws {
    my (%o) = @_;
    my $h = $o{header} // '{"alg":"ES256","kid":"ex-1","typ":"JWT"}';
    my $c = $o{claims} // claims();
    my $input = b64u($h) . '.' . b64u($c);
    my $how = $o{sign} // 'es256';
    my $key = $o{key} // $ec;
    my $sig;
    if ($how eq 'es256') {
        $sig = b64u($key->sign_message_rfc7518($input, 'SHA256'));
    } elsif ($how eq 'es384') {
        $sig = b64u($key->sign_message_rfc7518($input, 'SHA384'));
    } elsif ($how eq 'der') {
        $sig = b64u($key->sign_message($input, 'SHA256'));
    } elsif ($how eq 'rs256') {
        $sig = b64u($key->sign_message($input, 'SHA256', 'v1.5'));
    } elsif ($how eq 'ps256') {
        $sig = b64u($key->sign_message($input, 'SHA256', 'pss', 32));
    } elsif ($how eq 'hs256') {
        $sig = b64u(hmac('SHA256', $key, $input));
    } elsif ($how eq 'none') {
        $sig = '';
    } else {
        $sig = $how;
    }
    return "$input.$sig";
}

my $NOW = int(time);

# Claims text: defaults for a valid JWT-SVID, overridden by name; undef
# drops a claim; 'raw' appends literal JSON members.
sub claims {
    my (%o) = @_;
    my %c = (sub => '"spiffe://example.org/svc/api"', aud => '"wid-test"',
             exp => $NOW + 3600, iat => $NOW);
    for (keys %o) {
        next if $_ eq 'raw';
        if (defined $o{$_}) { $c{$_} = $o{$_} } else { delete $c{$_} }
    }
    my @m = map { "\"$_\":$c{$_}" } sort keys %c;
    push @m, $o{raw} if defined $o{raw};
    return '{' . join(',', @m) . '}';
}

sub hdr { '{' . join(',', @_) . '}' }

my $good = jws();
my $pem_pub = $ec->export_key_pem('public');
my $deep = ('[' x 200) . (']' x 200);

# --- policy, configuration ------------------------------------------------

$t->write_file('policy.yaml', <<'EOF');
version: 1
rules:
  api:
    default: block
    allow: [GET, HEAD]
    deny: [DELETE]
    require_workload_identity:
      trust_domain: example.org
      path_prefixes: [/svc]
      credential_kinds: [x509_svid, jwt_svid]
  rot:
    allow: [GET]
    require_workload_identity:
      trust_domain: rot.org
EOF

# rot.org: the trust domain whose bundles are rewritten (rotation cases).
my $rot = $t->jwt_authority('rot.org', 'rot-1');
my $rot_pem = $t->read_file("$pki/rot.org.pem");
my $rot_jwks = $t->read_file("$pki/rot.org.jwt.json");

$t->www_pages("hello\n", 'index.html');

my $conf = <<'EOF';
http {
    wid_trust_bundle example.org %%PKI%%/example.org.pem;
    wid_trust_bundle example.org %%PKI%%/example.org.jwt.json;
    wid_trust_bundle other.org   %%PKI%%/other.org.pem;
    wid_trust_bundle other.org   %%PKI%%/other.org.jwt.json;
    wid_trust_bundle rot.org     %%PKI%%/rot.org.pem;
    wid_trust_bundle rot.org     %%PKI%%/rot.org.jwt.json;
    wid_bundle_refresh 100ms;
    wid_policy       %%PREFIX%%/policy.yaml;
    wid_journal      %%PREFIX%%/journal key=%%PKI%%/receipt.key
                     checkpoint_records=50 checkpoint_interval=200ms;
    wid_cache_zone   wid:1m;
    wid_jwt_audience wid-test;

    large_client_header_buffers 4 128k;

    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        ssl_verify_client   optional_no_ca;
        ssl_session_cache   off;
        ssl_session_tickets off;
        root %%PREFIX%%/www;

        add_header X-Wid "$wid_verdict $wid_reason" always;
        add_header X-Wid-Receipt "$wid_receipt_id" always;

        location / {
            wid on;
            wid_rule api;
            wid_credential any;
        }

        location /hdr/ {
            wid on;
            wid_rule api;
            wid_credential jwt;
            wid_jwt_header X-Workload-Token;
            alias %%PREFIX%%/www/;
        }

        location /rot/ {
            wid on;
            wid_rule rot;
            wid_credential any;
            alias %%PREFIX%%/www/;
        }
    }
}
EOF
$t->run($conf);

# --- the table ------------------------------------------------------------
#
# [ name, request, status, reason ]: request is a hash: path (default
# /svc/index.html... served as /index.html under the api rule), cert,
# headers (ordered list), method, raw (request bytes).  reason undef:
# nginx refuses before wid runs (no receipt); status 0: no HTTP response
# at all (TLS handshake refused).

my $A = 'Authorization';
sub bearer { [ $A => "Bearer $_[0]" ] }

my @cases = (
    # -- baseline ----------------------------------------------------------
    [ 'valid X.509-SVID', { cert => 'good' }, 200, 'ok' ],
    [ 'valid JWT-SVID', { headers => bearer($good) }, 200, 'ok' ],
    [ 'no credential', {}, 401, 'policy.identity_missing' ],

    # -- Authorization header ------------------------------------------------
    [ 'Authorization empty', { headers => [ $A => '' ] },
      401, 'policy.identity_missing' ],
    [ 'Authorization: Bearer alone', { headers => [ $A => 'Bearer' ] },
      401, 'http.authorization_malformed' ],
    [ 'Authorization: Bearer and spaces only',
      { headers => [ $A => 'Bearer     ' ] },
      401, 'http.authorization_malformed' ],
    [ 'several spaces after Bearer', { headers => [ $A => "Bearer    $good" ] },
      200, 'ok' ],
    [ 'trailing spaces after the token',
      { headers => [ $A => "Bearer $good   " ] }, 200, 'ok' ],
    [ 'lowercase scheme', { headers => [ $A => "bearer $good" ] }, 200, 'ok' ],
    [ 'uppercase scheme', { headers => [ $A => "BEARER $good" ] }, 200, 'ok' ],
    [ 'scheme glued to the token', { headers => [ $A => "Bearer$good" ] },
      401, 'policy.identity_missing' ],
    [ 'tab instead of space: a bearer token sent wrong, not none',
      { headers => [ $A => "Bearer\t$good" ] },
      401, 'http.authorization_malformed' ],
    [ 'another scheme (Basic) is not a bearer token',
      { headers => [ $A => 'Basic YWxpY2U6c2VjcmV0' ] },
      401, 'policy.identity_missing' ],
    [ 'another scheme does not hide the certificate',
      { cert => 'good', headers => [ $A => 'Basic YWxpY2U6c2VjcmV0' ] },
      200, 'ok' ],
    # nginx itself treats Authorization as a unique header: a second one
    # is "client sent duplicate header line", 400 before wid runs.
    [ 'two Authorization headers (same token)',
      { headers => [ @{bearer($good)}, @{bearer($good)} ] }, 400, undef ],
    [ 'two Authorization headers (Basic and Bearer)',
      { headers => [ $A => 'Basic YWxpY2U6c2VjcmV0', @{bearer($good)} ] },
      400, undef ],
    [ 'two Authorization headers, different case',
      { headers => [ @{bearer($good)}, authorization => "Bearer $good" ] },
      400, undef ],
    [ 'two Authorization headers, a valid certificate too',
      { cert => 'good', headers => [ @{bearer($good)}, @{bearer($good)} ] },
      400, undef ],
    [ 'quote in the token', { headers => bearer('a"b') },
      401, 'http.authorization_malformed' ],
    [ 'comma-separated tokens', { headers => bearer("$good, $good") },
      401, 'http.authorization_malformed' ],
    [ 'space inside the token', { headers => bearer("abc def.ghi") },
      401, 'http.authorization_malformed' ],
    [ 'control byte in the token', { headers => bearer("abc\x01def") },
      401, 'http.authorization_malformed' ],
    [ 'DEL byte in the token', { headers => bearer("abc\x7fdef") },
      401, 'http.authorization_malformed' ],
    [ 'high bytes in the token', { headers => bearer("abc\xff\xfe.x.y") },
      401, 'http.authorization_malformed' ],
    [ 'NUL byte in the Authorization value',
      { raw => "GET /svc/index.html HTTP/1.1\r\nHost: localhost\r\n"
               . "Authorization: Bearer ab\0cd\r\nConnection: close\r\n\r\n" },
      400, undef ],
    [ 'NUL byte in a header name',
      { raw => "GET /svc/index.html HTTP/1.1\r\nHost: localhost\r\n"
               . "Author\0ization: Bearer $good\r\nConnection: close\r\n\r\n" },
      400, undef ],
    [ '100 KB token', { headers => bearer('a' x 100_000) },
      401, 'jwt.too_large' ],
    [ '100 KB token of three parts',
      { headers => bearer(join '.', ('a' x 33_000) x 3) },
      401, 'jwt.too_large' ],
    [ 'header beyond large_client_header_buffers',
      { headers => bearer('a' x 140_000) }, 400, undef ],
    [ '100 headers of 1 KB with a valid token',
      { headers => [ (map { ("X-Junk-$_" => 'j' x 1000) } 1 .. 100),
                     @{bearer($good)} ] }, 200, 'ok' ],
    [ 'Bearer token and a valid client certificate: the token decides',
      { cert => 'good', headers => bearer(jws(claims => claims(
            sub => '"spiffe://example.org/other"'))) },
      403, 'policy.path_prefix' ],
    [ 'bad Bearer token and a valid certificate: never downgraded',
      { cert => 'good', headers => bearer('abc.def') }, 401, 'jwt.malformed' ],
    [ 'valid Bearer token and a forged certificate',
      { cert => 'forged', headers => bearer($good) }, 200, 'ok' ],
    [ 'custom header: sent twice', { path => '/hdr/index.html',
      headers => [ 'X-Workload-Token' => $good, 'X-Workload-Token' => $good ] },
      401, 'http.multiple_credentials' ],
    [ 'custom header: empty', { path => '/hdr/index.html',
      headers => [ 'X-Workload-Token' => '' ] },
      401, 'http.authorization_malformed' ],
    [ 'custom header: "Bearer" is part of the value',
      { path => '/hdr/index.html',
        headers => [ 'X-Workload-Token' => "Bearer $good" ] },
      401, 'http.authorization_malformed' ],
    [ 'custom header: valid', { path => '/hdr/index.html',
      headers => [ 'X-Workload-Token' => $good ] }, 200, 'ok' ],
    [ 'custom header: Authorization is ignored', { path => '/hdr/index.html',
      headers => bearer($good) }, 401, 'policy.identity_missing' ],
    [ 'request line with a NUL byte',
      { raw => "GET /svc/\0 HTTP/1.1\r\nHost: localhost\r\n\r\n" }, 400, undef ],
    [ 'header line without a colon',
      { raw => "GET /svc/index.html HTTP/1.1\r\nHost: localhost\r\n"
               . "Authorization Bearer $good\r\nConnection: close\r\n\r\n" },
      400, undef ],
    [ 'obsolete line folding of Authorization',
      { raw => "GET /svc/index.html HTTP/1.1\r\nHost: localhost\r\n"
               . "Authorization: Bearer\r\n $good\r\nConnection: close\r\n\r\n" },
      400, undef ],
    [ 'method DELETE (deny list)', { cert => 'good', method => 'DELETE' },
      403, 'policy.operation_denied' ],
    [ 'method not allowed', { cert => 'good', method => 'PUT' },
      403, 'policy.operation_not_allowed' ],
    [ 'long unknown method', { cert => 'good', method => 'X' x 200 },
      403, 'policy.operation_not_allowed' ],

    # -- JWT attacks ---------------------------------------------------------
    [ 'alg none, empty signature',
      { headers => bearer(jws(header => hdr('"alg":"none"', '"kid":"ex-1"'),
                              sign => 'none')) }, 401, 'jwt.alg_not_allowed' ],
    [ 'empty signature part (ES256)',
      { headers => bearer(jws(sign => 'none')) }, 401, 'jwt.malformed' ],
    [ 'alg none with a signature part',
      { headers => bearer(jws(header => hdr('"alg":"none"', '"kid":"ex-1"'),
                              sign => 'AAAA')) }, 401, 'jwt.alg_not_allowed' ],
    [ 'alg None (case variant)',
      { headers => bearer(jws(header => hdr('"alg":"None"', '"kid":"ex-1"'),
                              sign => 'AAAA')) }, 401, 'jwt.alg_not_allowed' ],
    [ 'HS256 keyed with the public key',
      { headers => bearer(jws(header => hdr('"alg":"HS256"', '"kid":"ex-1"'),
                              sign => 'hs256', key => $pem_pub)) },
      401, 'jwt.alg_not_allowed' ],
    [ 'HS256 without kid',
      { headers => bearer(jws(header => hdr('"alg":"HS256"'),
                              sign => 'hs256', key => $pem_pub)) },
      401, 'jwt.alg_not_allowed' ],
    [ 'EdDSA', { headers => bearer(jws(header => hdr('"alg":"EdDSA"',
                                       '"kid":"ex-1"'), sign => 'AAAA')) },
      401, 'jwt.alg_not_allowed' ],
    [ 'RS256 header on the EC key',
      { headers => bearer(jws(header => hdr('"alg":"RS256"', '"kid":"ex-1"'),
                              sign => 'rs256', key => $rsa)) },
      401, 'jwt.alg_key_mismatch' ],
    [ 'ES256 header on the RSA key',
      { headers => bearer(jws(header => hdr('"alg":"ES256"', '"kid":"ex-rsa"')))
      }, 401, 'jwt.alg_key_mismatch' ],
    [ 'ES384 header on the P-256 key',
      { headers => bearer(jws(header => hdr('"alg":"ES384"', '"kid":"ex-1"'),
                              sign => 'es384', key => $ec384)) },
      401, 'jwt.alg_key_mismatch' ],
    [ 'ES256 header on the P-384 key',
      { headers => bearer(jws(header => hdr('"alg":"ES256"', '"kid":"ex-384"')))
      }, 401, 'jwt.alg_key_mismatch' ],
    [ 'valid RS256', { headers => bearer(jws(header => hdr('"alg":"RS256"',
                       '"kid":"ex-rsa"'), sign => 'rs256', key => $rsa)) },
      200, 'ok' ],
    [ 'valid PS256', { headers => bearer(jws(header => hdr('"alg":"PS256"',
                       '"kid":"ex-rsa"'), sign => 'ps256', key => $rsa)) },
      200, 'ok' ],
    [ 'valid ES384', { headers => bearer(jws(header => hdr('"alg":"ES384"',
                       '"kid":"ex-384"'), sign => 'es384', key => $ec384)) },
      200, 'ok' ],
    [ 'ES256 with a DER signature',
      { headers => bearer(jws(sign => 'der')) }, 401, 'jwt.signature_length' ],
    [ 'ES256 signature one byte short',
      { headers => bearer(jws(sign => b64u('x' x 63))) },
      401, 'jwt.signature_length' ],
    [ 'ES256 signature of zeros',
      { headers => bearer(jws(sign => b64u("\0" x 64))) },
      401, 'jwt.bad_signature' ],
    [ 'signature of another token', { headers => bearer(
        (jws(claims => claims(sub => '"spiffe://example.org/svc/x"'))
         =~ s/\.[^.]*$//r) . '.' . (split /\./, $good)[2]) },
      401, 'jwt.bad_signature' ],
    [ 'claims changed after signing', { headers => bearer(
        join '.', (split /\./, $good)[0],
        b64u(claims(sub => '"spiffe://example.org/svc/admin"')),
        (split /\./, $good)[2]) }, 401, 'jwt.bad_signature' ],
    [ 'crit header', { headers => bearer(jws(header => hdr('"alg":"ES256"',
        '"kid":"ex-1"', '"crit":["exp"]'))) }, 401, 'jwt.crit_not_allowed' ],
    [ 'typ JWS', { headers => bearer(jws(header => hdr('"alg":"ES256"',
        '"kid":"ex-1"', '"typ":"JWS"'))) }, 401, 'jwt.typ_not_allowed' ],
    [ 'typ not a string', { headers => bearer(jws(header => hdr(
        '"alg":"ES256"', '"kid":"ex-1"', '"typ":1'))) },
      401, 'jwt.typ_not_allowed' ],
    [ 'typ JOSE accepted', { headers => bearer(jws(header => hdr(
        '"alg":"ES256"', '"kid":"ex-1"', '"typ":"JOSE"'))) }, 200, 'ok' ],
    [ 'jku header', { headers => bearer(jws(header => hdr('"alg":"ES256"',
        '"kid":"ex-1"', '"jku":"https://evil.example/jwks"'))) },
      401, 'jwt.header_not_allowed' ],
    [ 'embedded jwk header', { headers => bearer(jws(header => hdr(
        '"alg":"ES256"', '"kid":"ex-1"',
        '"jwk":' . $ec->export_key_jwk('public')))) },
      401, 'jwt.header_not_allowed' ],
    [ 'x5c header', { headers => bearer(jws(header => hdr('"alg":"ES256"',
        '"kid":"ex-1"', '"x5c":["AAAA"]'))) }, 401, 'jwt.header_not_allowed' ],
    [ 'alg missing', { headers => bearer(jws(header => hdr('"kid":"ex-1"'))) },
      401, 'jwt.alg_missing' ],
    [ 'alg not a string', { headers => bearer(jws(header => hdr('"alg":256',
        '"kid":"ex-1"'))) }, 401, 'jwt.alg_missing' ],
    [ 'kid empty', { headers => bearer(jws(header => hdr('"alg":"ES256"',
        '"kid":""'))) }, 401, 'jwt.kid_invalid' ],
    [ 'kid a number', { headers => bearer(jws(header => hdr('"alg":"ES256"',
        '"kid":1'))) }, 401, 'jwt.kid_invalid' ],
    [ 'kid unknown', { headers => bearer(jws(header => hdr('"alg":"ES256"',
        '"kid":"nope"'))) }, 401, 'jwt.kid_unknown' ],
    [ 'no kid: keys of the trust domain are tried',
      { headers => bearer(jws(header => hdr('"alg":"ES256"'))) }, 200, 'ok' ],
    [ 'kid of another trust domain (cross-domain forgery)',
      { headers => bearer(jws(header => hdr('"alg":"ES256"', '"kid":"ot-1"'),
                              key => $ot)) }, 401, 'jwt.kid_unknown' ],
    [ 'no kid, signed by another trust domain',
      { headers => bearer(jws(header => hdr('"alg":"ES256"'), key => $ot)) },
      401, 'jwt.bad_signature' ],
    [ 'sub of a trust domain without bundle',
      { headers => bearer(jws(claims => claims(
          sub => '"spiffe://stray.org/svc/api"'))) },
      401, 'bundle.unknown_trust_domain' ],
    [ 'JSON serialization', { headers => bearer(
        '{"payload":"' . b64u(claims()) . '","signatures":[]}') },
      401, 'http.authorization_malformed' ],
    [ 'JSON serialization in base64url', { headers => bearer(
        b64u('{"payload":"' . b64u(claims()) . '","signatures":[]}')) },
      401, 'jwt.malformed' ],
    [ 'two parts', { headers => bearer('abc.def') }, 401, 'jwt.malformed' ],
    [ 'four parts', { headers => bearer("$good.AAAA") }, 401, 'jwt.malformed' ],
    [ 'empty payload part', { headers => bearer(
        (split /\./, $good)[0] . '..' . (split /\./, $good)[2]) },
      401, 'jwt.malformed' ],
    [ 'only dots', { headers => bearer('..') }, 401, 'jwt.malformed' ],
    [ 'padded base64', { headers => bearer(
        ((split /\./, $good)[0]) . '==.' . join('.', (split /\./, $good)[1, 2])) },
      401, 'jwt.bad_base64' ],
    [ 'standard base64 alphabet', { headers => bearer('+/+/.' . join('.',
        (split /\./, $good)[1, 2])) }, 401, 'jwt.bad_base64' ],
    [ 'tilde in base64url', { headers => bearer('ab~c.' . join('.',
        (split /\./, $good)[1, 2])) }, 401, 'jwt.bad_base64' ],
    [ 'impossible base64 length', { headers => bearer('abcde.' . join('.',
        (split /\./, $good)[1, 2])) }, 401, 'jwt.bad_base64' ],
    [ 'header not JSON', { headers => bearer(jws(header => 'not json')) },
      401, 'jwt.header_invalid' ],
    [ 'header a JSON array', { headers => bearer(jws(header => '["ES256"]')) },
      401, 'jwt.header_invalid' ],
    [ 'header with trailing garbage', { headers => bearer(jws(
        header => '{"alg":"ES256","kid":"ex-1"}x')) },
      401, 'jwt.header_invalid' ],
    [ 'claims not JSON', { headers => bearer(jws(claims => '{"sub":')) },
      401, 'jwt.payload_invalid' ],
    [ 'claims a string', { headers => bearer(jws(claims => '"x"')) },
      401, 'jwt.payload_invalid' ],
    [ 'duplicate alg in the header', { headers => bearer(jws(header => hdr(
        '"alg":"ES256"', '"kid":"ex-1"', '"alg":"none"'))) },
      401, 'jwt.duplicate_key' ],
    [ 'duplicate kid in the header', { headers => bearer(jws(header => hdr(
        '"alg":"ES256"', '"kid":"ot-1"', '"kid":"ex-1"'))) },
      401, 'jwt.duplicate_key' ],
    [ 'duplicate sub in the claims', { headers => bearer(jws(claims => claims(
        raw => '"sub":"spiffe://example.org/svc/admin"'))) },
      401, 'jwt.duplicate_key' ],
    [ 'duplicate aud in the claims', { headers => bearer(jws(claims => claims(
        raw => '"aud":"someone-else"'))) }, 401, 'jwt.duplicate_key' ],
    [ 'duplicate member through an escape', { headers => bearer(jws(
        claims => claims(raw => '"s\u0075b":"spiffe://example.org/svc/x"'))) },
      401, 'jwt.duplicate_key' ],
    [ 'deeply nested claim', { headers => bearer(jws(claims => claims(
        raw => "\"x\":$deep"))) }, 401, 'jwt.json_too_deep' ],
    [ 'deeply nested header', { headers => bearer(jws(header => hdr(
        '"alg":"ES256"', '"kid":"ex-1"', "\"x\":$deep"))) },
      401, 'jwt.json_too_deep' ],
    [ 'huge kid (4 KB)', { headers => bearer(jws(header => hdr(
        '"alg":"ES256"', '"kid":"' . ('k' x 4000) . '"'))) },
      401, 'jwt.kid_unknown' ],
    [ 'huge header (7 KB of members)', { headers => bearer(jws(header => hdr(
        '"alg":"ES256"', '"kid":"ex-1"', map { "\"h$_\":\"x\"" } 1 .. 700))) },
      401, 'jwt.too_large' ],
    [ 'token just over 8 KB', { headers => bearer(jws(claims => claims(
        raw => '"pad":"' . ('p' x 6200) . '"'))) }, 401, 'jwt.too_large' ],
    [ 'expired', { headers => bearer(jws(claims => claims(
        exp => $NOW - 600, iat => $NOW - 1200))) }, 401, 'jwt.expired' ],
    [ 'exp missing', { headers => bearer(jws(claims => claims(exp => undef))) },
      401, 'jwt.exp_missing' ],
    [ 'exp a string', { headers => bearer(jws(claims => claims(
        exp => '"' . ($NOW + 600) . '"'))) }, 401, 'jwt.claim_invalid' ],
    # jansson refuses an integer it cannot hold: the claims do not parse.
    [ 'exp beyond 64 bits', { headers => bearer(jws(claims => claims(
        exp => '1' . ('0' x 30)))) }, 401, 'jwt.payload_invalid' ],
    # RFC 7519 2: a NumericDate may be fractional.
    [ 'exp a fraction', { headers => bearer(jws(claims => claims(
        exp => ($NOW + 600) . '.5'))) }, 200, 'ok' ],
    [ 'expired by a fraction', { headers => bearer(jws(claims => claims(
        exp => ($NOW - 600) . '.5', iat => $NOW - 1200))) },
      401, 'jwt.expired' ],
    [ 'exp negative', { headers => bearer(jws(claims => claims(exp => -1))) },
      401, 'jwt.expired' ],
    [ 'nbf in the future', { headers => bearer(jws(claims => claims(
        nbf => $NOW + 600))) }, 401, 'jwt.not_yet_valid' ],
    [ 'iat in the future', { headers => bearer(jws(claims => claims(
        iat => $NOW + 600))) }, 401, 'jwt.issued_in_future' ],
    [ 'aud wrong', { headers => bearer(jws(claims => claims(
        aud => '"someone-else"'))) }, 401, 'jwt.aud_mismatch' ],
    [ 'aud missing', { headers => bearer(jws(claims => claims(aud => undef))) },
      401, 'jwt.aud_missing' ],
    [ 'aud an empty list', { headers => bearer(jws(claims => claims(
        aud => '[]'))) }, 401, 'jwt.aud_missing' ],
    [ 'aud a prefix of the audience', { headers => bearer(jws(claims => claims(
        aud => '"wid-tes"'))) }, 401, 'jwt.aud_mismatch' ],
    [ 'aud in a list', { headers => bearer(jws(claims => claims(
        aud => '["x","wid-test"]'))) }, 200, 'ok' ],
    [ 'aud a number', { headers => bearer(jws(claims => claims(aud => 5))) },
      401, 'jwt.claim_invalid' ],
    [ 'sub missing', { headers => bearer(jws(claims => claims(sub => undef))) },
      401, 'jwt.sub_missing' ],
    [ 'sub not a SPIFFE ID', { headers => bearer(jws(claims => claims(
        sub => '"https://example.org/svc/api"'))) }, 401, 'jwt.sub_invalid' ],
    [ 'sub the trust domain root', { headers => bearer(jws(claims => claims(
        sub => '"spiffe://example.org"'))) }, 401, 'jwt.sub_root_path' ],
    [ 'sub with a dot segment', { headers => bearer(jws(claims => claims(
        sub => '"spiffe://example.org/svc/../admin"'))) },
      401, 'jwt.sub_invalid' ],
    [ 'sub with an uppercase trust domain', { headers => bearer(jws(
        claims => claims(sub => '"spiffe://EXAMPLE.org/svc/api"'))) },
      401, 'jwt.sub_invalid' ],
    [ 'sub with a NUL escape', { headers => bearer(jws(claims => claims(
        sub => '"spiffe://example.org/svc/a\u0000b"'))) },
      401, 'jwt.payload_invalid' ],
    [ 'sub outside the path prefix', { headers => bearer(jws(claims => claims(
        sub => '"spiffe://example.org/svc-evil"'))) },
      403, 'policy.path_prefix' ],
    [ 'valid token of another trust domain', { headers => bearer(jws(
        header => hdr('"alg":"ES256"', '"kid":"ot-1"'), key => $ot,
        claims => claims(sub => '"spiffe://other.org/svc/api"'))) },
      403, 'policy.trust_domain_mismatch' ],

    # -- X.509 leaf and chain violations --------------------------------------
    [ 'CA leaf', { cert => 'caleaf' }, 401, 'x509.leaf_is_ca' ],
    [ 'CA leaf with digitalSignature only', { cert => 'ca_only' },
      401, 'x509.leaf_is_ca' ],
    [ 'two URI SANs', { cert => 'two_uris' }, 401, 'x509.multiple_uri_sans' ],
    [ 'non-spiffe URI SAN', { cert => 'https_uri' }, 401, 'x509.uri_not_spiffe' ],
    [ 'no URI SAN', { cert => 'no_uri' }, 401, 'x509.no_uri_san' ],
    [ 'root path SPIFFE ID', { cert => 'root_path' }, 401, 'x509.leaf_root_path' ],
    [ 'dot segment in the ID', { cert => 'bad_id' },
      401, 'x509.spiffe_id_invalid' ],
    [ 'uppercase trust domain in the ID', { cert => 'upper_td' },
      401, 'x509.spiffe_id_invalid' ],
    [ 'percent-encoding in the ID', { cert => 'pct_id' },
      401, 'x509.spiffe_id_invalid' ],
    # OpenSSL's TLS client purpose check refuses a keyUsage without
    # digitalSignature, an EKU without clientAuth and signing certificates
    # that are no CA or lack keyCertSign: nginx answers 400 before wid.
    [ 'no digitalSignature', { cert => 'no_ds' }, 400, undef ],
    [ 'no keyUsage at all', { cert => 'no_ku' },
      401, 'x509.leaf_no_digital_signature' ],
    [ 'keyUsage not critical', { cert => 'ku_noncrit' },
      401, 'x509.leaf_key_usage_not_critical' ],
    [ 'keyCertSign leaf', { cert => 'kcs' }, 401, 'x509.leaf_key_cert_sign' ],
    [ 'cRLSign leaf', { cert => 'crl' }, 401, 'x509.leaf_crl_sign' ],
    [ 'EKU codeSigning only', { cert => 'eku_code' }, 400, undef ],
    [ 'EKU clientAuth only', { cert => 'eku_client' }, 401, 'x509.leaf_eku' ],
    [ 'intermediate without keyCertSign', { cert => 'int_no_kcs' },
      400, undef ],
    [ 'intermediate not a CA', { cert => 'int_not_ca' }, 400, undef ],
    [ 'intermediate with a SPIFFE path', { cert => 'int_path' },
      401, 'x509.signer_has_path' ],
    [ 'intermediate of another trust domain', { cert => 'int_foreign' },
      401, 'x509.trust_domain_mismatch' ],
    [ 'intermediate missing from the chain', { cert => 'no_chain' },
      401, 'x509.untrusted' ],
    [ 'chain of 8 (7 intermediates): the limit', { cert => 'depth7' },
      200, 'ok' ],
    [ 'chain of 9', { cert => 'depth8' }, 401, 'x509.chain_too_long' ],
    [ 'chain of 13', { cert => 'depth12' }, 401, 'x509.chain_too_long' ],
    [ 'large leaf (1500 SANs)', { cert => 'big' }, 200, 'ok' ],
    [ 'chain over 100 KB', { cert => 'huge' }, 0, undef ],
    [ 'RSA leaf', { cert => 'rsa' }, 200, 'ok' ],
    [ 'Ed25519 leaf', { cert => 'ed25519' }, 200, 'ok' ],
    [ 'cross-trust-domain forgery', { cert => 'forged' },
      401, 'x509.trust_domain_mismatch' ],
    [ 'valid SVID of another trust domain', { cert => 'other' },
      403, 'policy.trust_domain_mismatch' ],
    [ 'unknown trust domain', { cert => 'stray' },
      401, 'bundle.unknown_trust_domain' ],
    [ 'unknown CA claiming example.org', { cert => 'stray_claims_ex' },
      401, 'x509.untrusted' ],
    [ 'self-signed leaf', { cert => 'self' }, 401, 'x509.untrusted' ],
    [ 'expired leaf: refused by nginx first', { cert => 'expired' },
      400, undef ],
    [ 'not yet valid leaf: refused by nginx first', { cert => 'future' },
      400, undef ],
    [ 'valid SVID, path outside the rule', { cert => 'outside' },
      403, 'policy.path_prefix' ],
);

# --- run the table ----------------------------------------------------------

my %decided;      # receipt id => [case name, verdict, reason]
my $undecided = 0;

sub request {
    my ($q) = @_;
    my @tls = $q->{cert} ? @{$cert{$q->{cert}} || die "no cert $q->{cert}"}
                         : ();
    return WidNginx::parse_response($t->raw($q->{raw}, @tls)) if $q->{raw};
    return $t->get($q->{path} // '/svc/index.html', @tls,
                   method => $q->{method}, headers => $q->{headers} || []);
}

mkdir $t->path('www/svc');
$t->write_file('www/svc/index.html', "hello\n");

for my $c (@cases) {
    my ($name, $q, $status, $reason) = @$c;
    my $t0 = time;
    my $r = request($q);
    diag sprintf("%.3f %s", time - $t0, $name) if $ENV{WID_TIMING};
    is($r->{status} // 0, $status, "$name: status $status")
        or diag substr($r->{raw} // $r->{error} // '', 0, 300);
    my $x = $r->{headers}{'x-wid'} // '';
    if (defined $reason) {
        my $verdict = $reason eq 'ok' ? 'allow' : 'deny';
        is($x, "$verdict $reason", "$name: $reason");
        my $id = $r->{headers}{'x-wid-receipt'} // '';
        if ($id =~ /^wr1-[0-9a-f]{32}$/) {
            $decided{$id} = [ $name, $verdict, $reason ];
        } else {
            fail("$name: receipt id");
        }
    } else {
        $undecided++;
        unlike($x, qr/[a-z]\.[a-z]/, "$name: refused before wid")
    }
}
cmp_ok(scalar @cases, '>=', 100, 'at least 100 hostile-input cases');

# --- broken bundle rewrites: the last good bundle stays --------------------

my @rot = @{$cert{rot}};
my $rot_tok = jws(header => hdr('"alg":"ES256"', '"kid":"rot-1"'), key => $rot,
                  claims => claims(sub => '"spiffe://rot.org/svc"'));

sub rot_case {
    my ($name, $file, $bytes, $log_re) = @_;
    my $before = length $t->error_log;
    $t->write_file("pki/$file", $bytes);
    my $deadline = time + 3;
    my $seen = 0;
    while (time < $deadline) {
        if (substr($t->error_log, $before) =~ $log_re) { $seen = 1; last }
        sleep 0.05;
    }
    my $log = substr($t->error_log, $before);
    ok($seen && $log =~ /the last good bundle stays in use/,
       "$name: error log reports it and keeps the last good bundle")
        or diag $log;
    for my $q ([ 'X.509', { path => '/rot/index.html', cert => 'rot' } ],
               [ 'JWT', { path => '/rot/index.html',
                          headers => bearer($rot_tok) } ]) {
        my $r = request($q->[1]);
        is($r->{status}, 200, "$name: $q->[0]-SVID still accepted");
        my $id = $r->{headers}{'x-wid-receipt'} // '';
        $decided{$id} = [ "$name $q->[0]", 'allow', 'ok' ] if $id;
    }
    # Restore, so that each case starts from a good bundle.
    $t->write_file("pki/$file", $file =~ /json$/ ? $rot_jwks : $rot_pem);
    sleep 0.3;
}

for my $q ([ 'X.509', { path => '/rot/index.html', cert => 'rot' } ],
           [ 'JWT', { path => '/rot/index.html', headers => bearer($rot_tok) } ])
{
    my $r = request($q->[1]);
    is($r->{status}, 200, "rot.org $q->[0] baseline");
    my $id = $r->{headers}{'x-wid-receipt'} // '';
    $decided{$id} = [ "rot.org $q->[0] baseline", 'allow', 'ok' ] if $id;
}

rot_case('truncated PEM bundle', 'rot.org.pem', substr($rot_pem, 0, 200),
         qr/rot\.org\.pem.*bundle\.pem_invalid/);
rot_case('PEM bundle cut inside the base64', 'rot.org.pem',
         substr($rot_pem, 0, length($rot_pem) - 40),
         qr/rot\.org\.pem.*bundle\.pem_invalid/);
rot_case('empty PEM bundle', 'rot.org.pem', '',
         qr/rot\.org\.pem.*bundle\.empty/);
rot_case('whitespace-only PEM bundle', 'rot.org.pem', "\n \n",
         qr/rot\.org\.pem.*bundle\.empty/);
rot_case('garbage bundle', 'rot.org.pem', "\x00\x01garbage",
         qr/rot\.org\.pem.*bundle\.format_unknown/);
rot_case('truncated JWKS', 'rot.org.jwt.json', substr($rot_jwks, 0, 50),
         qr/rot\.org\.jwt\.json.*bundle\.json_invalid/);
rot_case('empty JWKS file', 'rot.org.jwt.json', '',
         qr/rot\.org\.jwt\.json.*bundle\.empty/);
rot_case('JWKS with a duplicate member', 'rot.org.jwt.json',
         $rot_jwks =~ s/^\{/{"keys":[],/r,
         qr/rot\.org\.jwt\.json.*bundle\.duplicate_key/);
{
    require JSON::PP;
    my $j = JSON::PP::decode_json($rot_jwks);
    push @{$j->{keys}}, { %{$j->{keys}[0]} };
    rot_case('JWKS with a duplicate kid', 'rot.org.jwt.json',
             JSON::PP->new->canonical->encode($j),
             qr/rot\.org\.jwt\.json.*bundle\.kid_duplicate/);
    my $k = JSON::PP::decode_json($rot_jwks);
    delete $k->{keys};
    rot_case('JWKS without keys', 'rot.org.jwt.json',
             JSON::PP->new->canonical->encode($k),
             qr/rot\.org\.jwt\.json.*bundle\.keys_missing/);
}

# --- afterwards --------------------------------------------------------------

$t->stop;
$t->no_crashes;
unlike($t->error_log, qr/\[(?:alert|emerg)\]/, 'no alert in the error log');

# The same files refuse a configuration outright (nginx -t).
for my $bad ([ 'truncated PEM', 'rot.org.pem', substr($rot_pem, 0, 200),
               'bundle.pem_invalid' ],
             [ 'empty', 'rot.org.pem', '', 'bundle.empty' ],
             [ 'duplicate-member JWKS', 'rot.org.jwt.json',
               $rot_jwks =~ s/^\{/{"keys":[],/r, 'bundle.duplicate_key' ]) {
    my ($name, $file, $bytes, $code) = @$bad;
    $t->write_file("pki/bad-$file", $bytes);
    (my $c = $conf) =~ s{%%PKI%%/\Q$file\E}{%%PKI%%/bad-$file};
    my ($ok, $out) = $t->test_config($c);
    ok(!$ok && $out =~ /\Q$code\E/, "nginx -t refuses a $name bundle ($code)")
        or diag $out;
}

my ($rc, $out) = $t->journal_verify($t->path('journal'));
is($rc, 0, 'wid journal verify passes') or diag $out;

my %receipts = map { ($_->{receipt_id} // $_->{id} // '') => $_ }
    $t->journal_query($t->path('journal'));
is(scalar keys %receipts, scalar keys %decided,
   'one receipt per decided case, none for requests nginx refused first')
    or diag((scalar keys %receipts) . ' receipts, '
            . (scalar keys %decided) . " decided, $undecided refused");
my @mismatch;
for my $id (sort keys %decided) {
    my ($name, $verdict, $reason) = @{$decided{$id}};
    my $rec = $receipts{$id};
    push @mismatch, "$name: " . ($rec ? "$rec->{verdict} $rec->{reason}"
                                      : 'no receipt')
        unless $rec && $rec->{verdict} eq $verdict
               && $rec->{reason} eq $reason;
}
is_deeply(\@mismatch, [], 'every receipt has the verdict and reason the '
          . 'client saw');

done_testing;
