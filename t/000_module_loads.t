#!/usr/bin/perl
# The wid module loads into stock nginx, `nginx -t` accepts it, and a
# real HTTPS request (HTTP/1.1 and HTTP/2) is served with its variable.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use WidNginx;

my $t = WidNginx->new;
$t->server_cert;
$t->pki('td', $t->path('pki'), 'example.org');
$t->pki('leaf', $t->path('pki'), 'example.org', $t->path('pki/w'),
        '--id', 'spiffe://example.org/w');
$t->write_file('index.html', "hello from wid\n");

my $conf = <<'EOF';
http {
    server {
        listen 127.0.0.1:%%PORT_0%% ssl http2;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        ssl_verify_client   optional_no_ca;

        location / {
            root %%PREFIX%%;
            add_header X-Wid-Version $wid_version;
        }
    }
}
EOF

# nginx loads modules RTLD_GLOBAL: the module exports only what nginx
# looks up, so no function of it can bind to another loaded copy.
my @exported = sort map { (split ' ')[2] }
    grep { /^\S+ [A-Z] / } `nm -D --defined-only $t->{module}`;
is("@exported", 'ngx_module_names ngx_module_order ngx_modules',
   'the module exports only the symbols nginx looks up');

my ($ok, $out) = $t->test_config($conf);
ok($ok, 'nginx -t passes with the module loaded') or diag $out;

$t->run;
my $r = $t->get('/index.html');
is($r->{status}, 200, 'HTTPS GET served');
is($r->{body}, "hello from wid\n", 'static body');
like($r->{headers}{'x-wid-version'}, qr/^\d+\.\d+\.\d+$/,
     'module variable exposed');

$r = $t->get('/index.html', cert => $t->path('pki/w.pem'),
             key => $t->path('pki/w.key'));
is($r->{status}, 200, 'with a client certificate');

$r = $t->get_h2('/index.html');
is($r->{version}, '2', 'HTTP/2 negotiated');
is($r->{status}, 200, 'HTTP/2 GET served');
like($r->{headers}{'x-wid-version'}, qr/^\d+\./, 'variable over HTTP/2');

$r = $t->get('/missing');
is($r->{status}, 404, 'missing file is 404');

$t->reload;
is($t->get('/index.html')->{status}, 200, 'served after reload');
$t->stop;
$t->no_crashes;

my ($bad_ok, $bad_out) = $t->test_config(<<'EOF');
http { server { listen 127.0.0.1:%%PORT_0%%; no_such_directive on; } }
EOF
ok(!$bad_ok, 'nginx -t fails on an unknown directive');
like($bad_out, qr/unknown directive "no_such_directive"/, 'with the reason');

done_testing;
