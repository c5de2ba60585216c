#!/usr/bin/perl
# ngx_wid_module over real TLS: X.509-SVIDs from the peer chain, JWT-SVIDs
# from a header, the cross-trust-domain attack, 401/403 and their
# challenge, every $wid_* variable (headers, log_format, map,
# proxy_set_header), observe mode, satisfy any with auth_basic,
# subrequests, HTTP/2, and a verifying receipt for every decision.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::SHA ();
use Test::More;
use WidNginx;

my $t = WidNginx->new;
my $pki = $t->path('pki');
$t->server_cert;
$t->receipt_key;

# Two trust domains; other.org plays the attacker's CA.
$t->pki('td', $pki, 'example.org');
$t->pki('td', $pki, 'other.org');
$t->pki('leaf', $pki, 'example.org', "$pki/front",
        '--id', 'spiffe://example.org/frontend/web');
$t->pki('leaf', $pki, 'example.org', "$pki/evil",
        '--id', 'spiffe://example.org/frontend-evil');
$t->pki('leaf', $pki, 'other.org', "$pki/forged",
        '--id', 'spiffe://example.org/frontend/web');
$t->pki('leaf', $pki, 'other.org', "$pki/other",
        '--id', 'spiffe://other.org/frontend/web');
$t->pki('leaf', $pki, 'example.org', "$pki/expired",
        '--id', 'spiffe://example.org/frontend/web',
        '--not-before=-2h', '--not-after=-1h');
$t->pki('leaf', $pki, 'example.org', "$pki/nouri", '--dns', 'web.example');
$t->jwt_authority('example.org', 'ex-1');
$t->jwt_authority('other.org', 'ot-1');

my %cert = map { $_ => [cert => "$pki/$_.pem", key => "$pki/$_.key"] }
    qw(front evil forged other expired nouri);

$t->write_file('policy.yaml', <<'EOF');
version: 1
rules:
  api:
    default: block
    allow: [GET, HEAD]
    deny: [DELETE]
    require_workload_identity:
      trust_domain: example.org
      path_prefixes: [/frontend]
      credential_kinds: [x509_svid, jwt_svid]
  x509_only:
    allow: ["*"]
    require_workload_identity:
      trust_domain: example.org
      credential_kinds: [x509_svid]
  public:
    default: allow
EOF

$t->www_pages("hello\n", 'index.html');
$t->www_pages("included\n", 'inc.html');
$t->write_file('www/page.shtml',
               "[<!--# include virtual=\"/x509/inc.html\" -->]\n");
my $hash = `openssl passwd -apr1 secret`;
chomp $hash;
$t->write_file('htpasswd', "alice:$hash\n");

$t->run(<<'EOF');
http {
    wid_trust_bundle example.org %%PKI%%/example.org.pem;
    wid_trust_bundle example.org %%PKI%%/example.org.jwt.json;
    wid_trust_bundle other.org   %%PKI%%/other.org.pem;
    wid_trust_bundle other.org   %%PKI%%/other.org.jwt.json;
    wid_policy       %%PREFIX%%/policy.yaml;
    wid_journal      %%PREFIX%%/journal key=%%PKI%%/receipt.key
                     checkpoint_records=10 checkpoint_interval=200ms
                     fsync=interval;
    wid_cache_zone   wid:1m;
    wid_jwt_audience wid-test;

    log_format wid '$wid_spiffe_id|$wid_trust_domain|$wid_path|'
                   '$wid_credential|$wid_tier|$wid_verdict|$wid_reason|'
                   '$wid_rule|$wid_receipt_id|$wid_cache';

    map $wid_trust_domain $wid_td_known {
        example.org  yes;
        default      no;
    }

    server {
        listen 127.0.0.1:%%PORT_0%% ssl http2;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        ssl_verify_client   optional_no_ca;
        root %%PREFIX%%/www;

        access_log %%PREFIX%%/logs/wid.log wid;

        add_header X-Wid "$wid_verdict $wid_reason" always;
        add_header X-Wid-Id "$wid_spiffe_id" always;
        add_header X-Wid-Td "$wid_trust_domain $wid_path" always;
        add_header X-Wid-Cred "$wid_credential $wid_tier $wid_rule" always;
        add_header X-Wid-Receipt "$wid_receipt_id" always;
        add_header X-Wid-Cache "$wid_cache" always;
        add_header X-Wid-Map "$wid_td_known" always;

        location / {
            wid on;
            wid_rule api;
        }

        location /x509/ {
            wid on;
            wid_rule x509_only;
            wid_credential x509;
            alias %%PREFIX%%/www/;
        }

        location /observe/ {
            wid observe;
            wid_rule api;
            alias %%PREFIX%%/www/;
        }

        location /public/ {
            wid on;
            wid_rule public;
            alias %%PREFIX%%/www/;
        }

        location /hdr/ {
            wid on;
            wid_rule api;
            wid_credential jwt;
            wid_jwt_header X-Workload-Token;
            alias %%PREFIX%%/www/;
        }

        location /op/ {
            wid on;
            wid_rule api;
            wid_operation $http_x_op;
            alias %%PREFIX%%/www/;
        }

        location /realm/ {
            wid on;
            wid_rule api;
            wid_realm "payments";
            alias %%PREFIX%%/www/;
        }

        location /basic/ {
            satisfy any;
            auth_basic "basic";
            auth_basic_user_file %%PREFIX%%/htpasswd;
            wid on;
            wid_rule api;
            alias %%PREFIX%%/www/;
        }

        location /all/ {
            satisfy all;
            auth_basic "basic";
            auth_basic_user_file %%PREFIX%%/htpasswd;
            wid on;
            wid_rule api;
            alias %%PREFIX%%/www/;
        }

        location /ssi/ {
            ssi on;
            ssi_types *;
            wid on;
            wid_rule api;
            alias %%PREFIX%%/www/;
        }

        location /att/ {
            wid on;
            wid_rule api;
            wid_attestation_header X-Attestation-Result;
            alias %%PREFIX%%/www/;
        }

        location /proxy/ {
            wid on;
            wid_rule api;
            proxy_set_header X-Spiffe-Id $wid_spiffe_id;
            proxy_set_header X-Wid-Receipt $wid_receipt_id;
            proxy_pass http://127.0.0.1:%%PORT_1%%/echo;
        }

        location /off/ {
            alias %%PREFIX%%/www/;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_1%%;
        location /echo {
            return 200 "upstream saw $http_x_spiffe_id $http_x_wid_receipt\n";
        }
    }
}
EOF

my $decisions = 0;
my $r;

sub wid_is {
    my ($r, $status, $reason, $name) = @_;
    $decisions++;
    is($r->{status}, $status, "$name: status $status");
    like($r->{headers}{'x-wid'} // '', qr/ \Q$reason\E$/, "$name: $reason");
}

# --- X.509-SVIDs ---------------------------------------------------------

$r = $t->get('/index.html', @{$cert{front}});
wid_is($r, 200, 'ok', 'X.509-SVID in the path prefix');
is($r->{body}, "hello\n", 'content served');
is($r->{headers}{'x-wid-id'}, 'spiffe://example.org/frontend/web',
   '$wid_spiffe_id');
is($r->{headers}{'x-wid-td'}, 'example.org /frontend/web',
   '$wid_trust_domain $wid_path');
is($r->{headers}{'x-wid-cred'}, 'x509_svid none api',
   '$wid_credential $wid_tier $wid_rule');
like($r->{headers}{'x-wid-receipt'}, qr/^wr1-[0-9a-f]{32}$/,
     '$wid_receipt_id');
my $first_receipt = $r->{headers}{'x-wid-receipt'};
is($r->{headers}{'x-wid-map'}, 'yes', 'map over $wid_trust_domain');
ok(!exists $r->{headers}{'www-authenticate'}, 'no challenge on allow');

$r = $t->get('/index.html', @{$cert{evil}});
wid_is($r, 403, 'policy.path_prefix', '/frontend-evil is not /frontend');
ok(!exists $r->{headers}{'www-authenticate'}, 'no challenge on 403');

$r = $t->get('/index.html', @{$cert{forged}});
wid_is($r, 401, 'x509.trust_domain_mismatch',
       'cross-trust-domain forgery (other.org CA, example.org ID)');
is($r->{headers}{'x-wid-id'}, undef, 'forged identity never exposed');
is($r->{headers}{'www-authenticate'},
   'Bearer realm="wid", error="invalid_token"', 'RFC 6750 challenge');

$r = $t->get('/index.html', @{$cert{other}});
wid_is($r, 403, 'policy.trust_domain_mismatch',
       'a valid SVID of another trust domain');
is($r->{headers}{'x-wid-td'}, 'other.org /frontend/web',
   'its own trust domain');
is($r->{headers}{'x-wid-map'}, 'no', 'map default');

# nginx itself refuses an expired client certificate (400) even with
# optional_no_ca, which tolerates only an unknown issuer: no decision.
$r = $t->get('/index.html', @{$cert{expired}});
is($r->{status}, 400, 'expired X.509-SVID: refused by nginx before wid');

$r = $t->get('/index.html', @{$cert{nouri}});
wid_is($r, 401, 'x509.no_uri_san', 'certificate without a SPIFFE ID');

$r = $t->get('/index.html');
wid_is($r, 401, 'policy.identity_missing', 'no credential at all');
is($r->{headers}{'www-authenticate'}, 'Bearer realm="wid"',
   'challenge without error when nothing was presented');
is($r->{headers}{'x-wid-cred'}, 'none api', 'no credential kind');

$r = $t->get('/realm/index.html');
wid_is($r, 401, 'policy.identity_missing', 'wid_realm');
is($r->{headers}{'www-authenticate'}, 'Bearer realm="payments"',
   'realm in the challenge');

$r = $t->get('/index.html', @{$cert{front}}, method => 'DELETE');
wid_is($r, 403, 'policy.operation_denied', 'operation on the deny list');

$r = $t->get('/index.html', @{$cert{front}}, method => 'POST');
wid_is($r, 403, 'policy.operation_not_allowed', 'operation not allowed');

$r = $t->get('/op/index.html', @{$cert{front}}, headers => { 'X-Op' => 'GET' });
wid_is($r, 200, 'ok', 'wid_operation from a header');
$r = $t->get('/op/index.html', @{$cert{front}},
             headers => { 'X-Op' => 'DELETE' });
wid_is($r, 403, 'policy.operation_denied', 'wid_operation decides');

# A method or operation too long for a receipt field (nginx takes a
# 5000-letter method with its default buffers), or an operation that is
# not UTF-8, is still decided and recorded: as "sha256:" and the hex of
# its bytes (the receipt would otherwise refuse the field, and the
# decision would go unrecorded or an allow become a 500).
my %fact_receipt;
$r = $t->get('/index.html', @{$cert{front}}, method => 'A' x 5000);
wid_is($r, 403, 'policy.operation_not_allowed', 'a 5000-letter method');
$fact_receipt{long_method} = $r->{headers}{'x-wid-receipt'};
like($fact_receipt{long_method} // '', qr/^wr1-/, '... with a receipt');
$r = $t->get('/op/index.html', @{$cert{front}},
             headers => { 'X-Op' => 'x' x 3000 });
wid_is($r, 403, 'policy.operation_not_allowed', 'a 3000-byte operation');
$fact_receipt{long_op} = $r->{headers}{'x-wid-receipt'};
$r = $t->get('/op/index.html', @{$cert{front}},
             headers => { 'X-Op' => "r\xe9ad" });
wid_is($r, 403, 'policy.operation_not_allowed', 'an operation not UTF-8');
$fact_receipt{latin1_op} = $r->{headers}{'x-wid-receipt'};

# Keepalive: the second request on the connection reuses the X.509 result.
{
    my $req = "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
        . "GET /index.html HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\n\r\n";
    my $raw = $t->raw($req, @{$cert{front}});
    my @caches = $raw =~ /^X-Wid-Cache: (\w+)/mg;
    is_deeply(\@caches, [qw(miss conn_hit)],
              'X.509 result verified once per connection');
    $decisions += 2;
}

# --- JWT-SVIDs -----------------------------------------------------------

my $tok = $t->mint_jwt(kid => 'ex-1', sub => 'spiffe://example.org/frontend/api');

$r = $t->get('/index.html', headers => { Authorization => "Bearer $tok" });
wid_is($r, 200, 'ok', 'JWT-SVID');
is($r->{headers}{'x-wid-cred'}, 'jwt_svid none api', 'credential jwt_svid');
is($r->{headers}{'x-wid-cache'}, 'miss', 'first use verifies');

$r = $t->get('/index.html', headers => { Authorization => "bearer $tok" });
wid_is($r, 200, 'ok', 'scheme is case-insensitive');
is($r->{headers}{'x-wid-cache'}, 'zone_hit', 'same token: zone cache hit');

# A token beats the peer certificate when both are sent.
$r = $t->get('/index.html', @{$cert{evil}},
             headers => { Authorization => "Bearer $tok" });
wid_is($r, 200, 'ok', 'bearer token is the request credential');
is($r->{headers}{'x-wid-id'}, 'spiffe://example.org/frontend/api',
   'identity from the token');

my $forged = $t->mint_jwt(kid => 'ot-1',
                          sub => 'spiffe://example.org/frontend/api');
$r = $t->get('/index.html', headers => { Authorization => "Bearer $forged" });
wid_is($r, 401, 'jwt.kid_unknown',
       'cross-trust-domain JWT (other.org key, example.org sub)');

my $aud = $t->mint_jwt(kid => 'ex-1', sub => 'spiffe://example.org/frontend',
                       aud => 'someone-else');
$r = $t->get('/index.html', headers => { Authorization => "Bearer $aud" });
wid_is($r, 401, 'jwt.aud_mismatch', 'JWT for another audience');

my $old = $t->mint_jwt(kid => 'ex-1', sub => 'spiffe://example.org/frontend',
                       exp => int(time) - 600, iat => int(time) - 1200);
$r = $t->get('/index.html', headers => { Authorization => "Bearer $old" });
wid_is($r, 401, 'jwt.expired', 'expired JWT-SVID');

$r = $t->get('/index.html', headers => { Authorization => 'Bearer abc.def' });
wid_is($r, 401, 'jwt.malformed', 'two-part token');

$r = $t->get('/index.html', headers => { Authorization => 'Bearer  ' });
wid_is($r, 401, 'http.authorization_malformed', 'empty bearer token');

$r = $t->get('/index.html', headers => { Authorization => 'Bearer a"b' });
wid_is($r, 401, 'http.authorization_malformed', 'bytes outside b64token');

$r = $t->get('/hdr/index.html', headers => { 'X-Workload-Token' => $tok });
wid_is($r, 200, 'ok', 'wid_jwt_header: raw token in a custom header');

$r = $t->get('/hdr/index.html',
             headers => [ 'X-Workload-Token' => $tok,
                          'X-Workload-Token' => $tok ]);
wid_is($r, 401, 'http.multiple_credentials', 'token header sent twice');

$r = $t->get('/hdr/index.html', @{$cert{front}});
wid_is($r, 401, 'policy.identity_missing',
       'wid_credential jwt ignores the peer certificate');

$r = $t->get('/x509/index.html', headers => { Authorization => "Bearer $tok" });
wid_is($r, 401, 'policy.identity_missing',
       'wid_credential x509 ignores bearer tokens');

# --- modes, satisfy, subrequests, proxying -------------------------------

$r = $t->get('/observe/index.html');
wid_is($r, 200, 'policy.identity_missing', 'observe never blocks');
$r = $t->get('/observe/index.html', @{$cert{evil}});
wid_is($r, 200, 'policy.path_prefix', 'observe records the would-be deny');

$r = $t->get('/public/index.html');
wid_is($r, 200, 'ok', 'a rule without identity admits anonymous callers');

$r = $t->get('/basic/index.html',
             headers => { Authorization => 'Basic YWxpY2U6c2VjcmV0' });
wid_is($r, 200, 'policy.identity_missing',
       'satisfy any: auth_basic grants, wid declines');
ok(!exists $r->{headers}{'www-authenticate'},
   'satisfy any: no challenge once access is granted');

$r = $t->get('/basic/index.html', @{$cert{front}});
wid_is($r, 200, 'ok', 'satisfy any: wid grants');

$r = $t->get('/basic/index.html');
wid_is($r, 401, 'policy.identity_missing', 'satisfy any: both refuse');
like($r->{headers}{'www-authenticate'}, qr/Basic realm="basic"/,
     'satisfy any: auth_basic challenge');
like($r->{headers}{'www-authenticate'}, qr/Bearer realm="wid"/,
     'satisfy any: bearer challenge too');

$r = $t->get('/all/index.html', @{$cert{front}});
wid_is($r, 401, 'ok', 'satisfy all: wid alone is not enough');
$r = $t->get('/all/index.html', @{$cert{front}},
             headers => { Authorization => 'Basic YWxpY2U6c2VjcmV0' });
wid_is($r, 200, 'ok', 'satisfy all: both grant');

$r = $t->get('/ssi/page.shtml', headers => { Authorization => "Bearer $tok" });
wid_is($r, 200, 'ok', 'SSI page with a JWT-SVID');
is($r->{body}, "[included\n]\n",
   'subrequest into an X.509-only location is not checked again');

# Attestation results in depth: t/040_wid_attestation.t.
$r = $t->get('/att/index.html', @{$cert{front}},
             headers => { 'X-Attestation-Result' => 'evidence-bytes' });
wid_is($r, 403, 'attest.untrusted_verifier',
       'a policy with no trusted verifier key trusts no attestation result');
is($r->{headers}{'x-wid-cred'}, 'x509_svid none api',
   'refused attestation: tier none');
my $att_receipt = $r->{headers}{'x-wid-receipt'};

$r = $t->get('/proxy/', @{$cert{front}});
$decisions++;
is($r->{status}, 200, 'proxied');
like($r->{body}, qr{^upstream saw spiffe://example\.org/frontend/web wr1-},
     'proxy_set_header with $wid_spiffe_id and $wid_receipt_id');

$r = $t->get('/off/index.html', @{$cert{front}});
is($r->{status}, 200, 'wid off');
is($r->{headers}{'x-wid'} // '', '', 'no $wid_* values where wid is off');

# --- HTTP/2 ----------------------------------------------------------------

$r = $t->get_h2('/index.html', @{$cert{front}});
$decisions++;
is($r->{version}, '2', 'HTTP/2');
is($r->{status}, 200, 'HTTP/2 with an X.509-SVID');
$r = $t->get_h2('/index.html', headers => { Authorization => "Bearer $tok" });
$decisions++;
is($r->{status}, 200, 'HTTP/2 with a JWT-SVID');
$r = $t->get_h2('/index.html', @{$cert{evil}});
$decisions++;
is($r->{status}, 403, 'HTTP/2 deny');
$r = $t->get_h2('/index.html');
$decisions++;
is($r->{status}, 401, 'HTTP/2 challenge');
is($r->{headers}{'www-authenticate'}, 'Bearer realm="wid"',
   'HTTP/2 WWW-Authenticate');

# wid takes the bearer token from the one Authorization header nginx
# keeps: over HTTP/2 too, nginx refuses a second one before wid runs.
$r = $t->get_h2('/index.html', headers => [ Authorization => "Bearer $tok",
                                            Authorization => "Bearer $tok" ]);
is($r->{status}, 400, 'HTTP/2, two Authorization headers: 400 from nginx');
is($r->{headers}{'x-wid'} // '', '', '... wid never decided');

# --- log_format and receipts -----------------------------------------------

my @log = split /\n/, $t->read_file('logs/wid.log');
ok((grep { $_ eq 'spiffe://example.org/frontend/web|example.org|/frontend/web'
           . '|x509_svid|none|allow|ok|api|' . ($first_receipt // '')
           . '|miss' }
    @log), 'log_format with every variable');

$t->stop;
$t->no_crashes;

my ($rc, $out) = $t->journal_verify($t->path('journal'));
is($rc, 0, 'wid journal verify: the journal verifies') or diag $out;

my @receipts = $t->journal_query($t->path('journal'));
is(scalar @receipts, $decisions, 'one receipt per decision')
    or diag explain [ map { "$_->{verdict} $_->{reason}" } @receipts ];
my %verdicts;
$verdicts{$_->{verdict}}++ for @receipts;
is($verdicts{observe}, 2, 'observe decisions recorded as observe');
ok($verdicts{allow} && $verdicts{deny}, 'allow and deny receipts');

my %by_id = map { (($_->{id} // '') => $_) } @receipts;
my $fact = sub { 'sha256:' . Digest::SHA::sha256_hex($_[0]) };
is($by_id{$fact_receipt{long_method} // ''}{request}{method},
   $fact->('A' x 5000), 'the long method recorded as its SHA-256');
is($by_id{$fact_receipt{long_method} // ''}{operation},
   $fact->('A' x 5000), '... and so is the operation it defaults to');
is($by_id{$fact_receipt{long_op} // ''}{operation}, $fact->('x' x 3000),
   'the long operation recorded as its SHA-256');
is($by_id{$fact_receipt{long_op} // ''}{request}{method}, 'GET',
   '... the method as sent');
is($by_id{$fact_receipt{latin1_op} // ''}{operation}, $fact->("r\xe9ad"),
   'the operation that is not UTF-8 recorded as its SHA-256');

my ($att) = grep { ($_->{id} // $_->{receipt_id} // '') eq ($att_receipt // '') }
    @receipts;
ok($att, 'receipt found by $wid_receipt_id') or diag explain $receipts[0];

done_testing;
