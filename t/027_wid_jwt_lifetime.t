#!/usr/bin/perl
# wid_jwt_max_lifetime: a JWT-SVID that lives longer than the location
# allows (exp - iat, or exp - now plus the leeway without iat) is refused
# with jwt.lifetime_too_long and 401; the limit is inherited, "off" lifts
# it, and neither cache lets a token accepted where there is no limit
# through where there is one.  Bad values fail `nginx -t`.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use WidNginx;

my $t = WidNginx->new;
my $pki = $t->path('pki');
$t->server_cert;
$t->receipt_key;
$t->pki('td', $pki, 'example.org');
$t->jwt_authority('example.org', 'k1');

$t->api_policy('example.org');
$t->www_pages("ok\n", qw(index.html off/index.html short/index.html
                          leeway/index.html));

my $conf = <<'EOF';
http {
    wid_trust_bundle example.org %%PKI%%/example.org.pem;
    wid_trust_bundle example.org %%PKI%%/example.org.jwt.json;
    wid_policy       %%PREFIX%%/policy.yaml;
    wid_journal      %%PREFIX%%/journal key=%%PKI%%/receipt.key
                     checkpoint_interval=100ms;
    wid_cache_zone   wid:1m;
    wid_jwt_max_lifetime 1h;

    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        root %%PREFIX%%/www;

        add_header X-Wid "$wid_verdict $wid_reason" always;
        add_header X-Wid-Cache "$wid_cache" always;

        wid on;
        wid_rule api;
        wid_jwt_audience wid-test;

        location / {
        }

        location /off/ {
            wid_jwt_max_lifetime off;
        }

        location /short/ {
            wid_jwt_max_lifetime 10m;
        }

        location /leeway/ {
            wid_jwt_leeway 30s;
        }
    }
}
EOF

# --- nginx -t --------------------------------------------------------------

sub conf_with {
    my ($directive) = @_;
    (my $c = $conf) =~ s/wid_jwt_max_lifetime 1h;/$directive/;
    return $c;
}

for my $bad ('401d', '0', '0s', 'soon', '-1h', '1x', '99999999999999999999') {
    my ($ok, $out) = $t->test_config(
        conf_with("wid_jwt_max_lifetime $bad;"));
    ok(!$ok, "nginx -t fails: wid_jwt_max_lifetime $bad");
    like($out, qr/"wid_jwt_max_lifetime" "\Q$bad\E" is invalid: expected "off" or a time from 1s to 400d \(34560000 seconds\) in \S*nginx\.conf:\d+/,
         "... a clear message with the file and line") or diag $out;
}
{
    my ($ok, $out) = $t->test_config(
        conf_with("wid_jwt_max_lifetime 1h; wid_jwt_max_lifetime 2h;"));
    ok(!$ok, 'nginx -t fails: the directive twice in one context');
    like($out, qr/"wid_jwt_max_lifetime" directive is duplicate/,
         '... is duplicate') or diag $out;
    ($ok, $out) = $t->test_config(
        conf_with("wid_jwt_max_lifetime 1h 2h;"));
    ok(!$ok, 'nginx -t fails: two values');
}
for my $good ('400d', '1s', 'off', '90m', '1d12h') {
    my ($ok, $out) = $t->test_config(
        conf_with("wid_jwt_max_lifetime $good;"));
    ok($ok, "nginx -t passes: wid_jwt_max_lifetime $good") or diag $out;
}

# --- over HTTP -------------------------------------------------------------

# The nginx -t runs above logged their [emerg] lines to the same file.
my $log_start = length $t->error_log;
$t->run($conf);

my %receipt;
sub check {
    my ($r, $status, $reason, $name, $cache) = @_;
    is($r->{status}, $status, "$name: $status");
    is($r->{headers}{'x-wid'},
       ($status == 200 ? 'allow' : 'deny') . " $reason", "$name: $reason");
    is($r->{headers}{'x-wid-cache'}, $cache, "$name: \$wid_cache $cache")
        if defined $cache;
    $receipt{$reason}++;
    return $r;
}
sub bearer { (headers => { Authorization => "Bearer $_[0]" }) }
sub jwt { $t->mint_jwt(kid => 'k1', sub => 'spiffe://example.org/w/a', @_) }

my $now = int(time);

# exp - iat exactly the limit passes; one second more does not.
my $exact = jwt(iat => $now - 100, exp => $now - 100 + 3600);
check($t->get('/index.html', bearer($exact)), 200, 'ok',
      'exp - iat = 1h under a 1h limit');
my $over = jwt(iat => $now - 100, exp => $now - 100 + 3601);
my $r = check($t->get('/index.html', bearer($over)), 401,
              'jwt.lifetime_too_long', 'exp - iat = 1h 1s');
is($r->{headers}{'www-authenticate'},
   'Bearer realm="wid", error="invalid_token"', '... an invalid token');
$t->error_log_like(
    qr/wid: credential rejected: jwt\.lifetime_too_long .*jwt_svid "none"/,
    '... logged with its reason');

# Inherited from http{}; "off" lifts it; a location may set its own.
my $day = jwt(iat => $now, exp => $now + 86400);
check($t->get('/index.html', bearer($day)), 401, 'jwt.lifetime_too_long',
      'a day-long token under the inherited 1h');
check($t->get('/off/index.html', bearer($day)), 200, 'ok',
      '... admitted where the limit is off');
check($t->get('/short/index.html', bearer($exact)), 401,
      'jwt.lifetime_too_long', 'a 1h token where the limit is 10m');
check($t->get('/short/index.html', bearer(jwt(exp => $now + 600))), 200,
      'ok', 'a 10m token there');

# Without iat the remaining life counts, plus the leeway.
# mint_jwt always sets iat: this one is made without.
my $noiat = do {
    require Crypt::JWT;
    Crypt::JWT::encode_jwt(
        payload => { sub => 'spiffe://example.org/w/a', aud => 'wid-test',
                     exp => $now + 3600 + 20 },
        alg => 'ES256', key => $t->{jwt_keys}{k1},
        extra_headers => { kid => 'k1', typ => 'JWT' });
};
check($t->get('/index.html', bearer($noiat)), 401, 'jwt.lifetime_too_long',
      'no iat: exp - now = 1h 20s over 1h');
check($t->get('/leeway/index.html', bearer($noiat)), 200, 'ok',
      'no iat: within 1h plus 30 s of leeway');

# The signature comes first: a forged long-lived token is a forgery.
my $forged = $day;
substr($forged, -10, 1) = substr($forged, -10, 1) eq 'A' ? 'B' : 'A';
check($t->get('/index.html', bearer($forged)), 401, 'jwt.bad_signature',
      'a forged long-lived token: bad signature, not lifetime');

# --- neither cache carries a token over to a stricter location ----------

my $long = jwt(iat => $now, exp => $now + 7200);
my $c = $t->conn;
check($c->get('/off/index.html', bearer($long)), 200, 'ok',
      '2h token where there is no limit', 'miss');
check($c->get('/off/index.html', bearer($long)), 200, 'ok',
      '... from the zone', 'zone_hit');
check($c->get('/off/index.html', bearer($long)), 200, 'ok',
      '... from the connection', 'conn_hit');
check($c->get('/index.html', bearer($long)), 401, 'jwt.lifetime_too_long',
      'same connection, a location with a 1h limit: refused', 'miss');
check($c->get('/index.html', bearer($long)), 401, 'jwt.lifetime_too_long',
      '... and again', 'miss');
check($c->get('/off/index.html', bearer($long)), 200, 'ok',
      '... still fine without the limit', 'conn_hit');
$c->close;
check($t->get('/index.html', bearer($long)), 401, 'jwt.lifetime_too_long',
      'new connection: the zone entry is not used either', 'miss');

# The other way round: a short token cached under the limit is fine
# without it (verified again: another key).
my $ok_tok = jwt(iat => $now, exp => $now + 1800);
check($t->get('/index.html', bearer($ok_tok)), 200, 'ok',
      '30m token under 1h', 'miss');
check($t->get('/index.html', bearer($ok_tok)), 200, 'ok', '... cached',
      'zone_hit');
check($t->get('/off/index.html', bearer($ok_tok)), 200, 'ok',
      '... a location without a limit keeps its own entry', 'miss');

# --- receipts -----------------------------------------------------------------

$t->stop;
$t->no_crashes;
unlike(substr($t->error_log, $log_start), qr/\[(alert|crit|emerg)\]/,
       'no alert in the error log');
my ($rc, $out) = $t->journal_verify($t->path('journal'));
is($rc, 0, 'journal verifies') or diag $out;
my %got;
$got{$_->{reason}}++ for $t->journal_query($t->path('journal'));
is_deeply(\%got, \%receipt, 'one receipt per request, with its reason')
    or diag explain [ \%got, \%receipt ];

done_testing;
