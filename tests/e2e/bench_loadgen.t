#!/usr/bin/perl
# The benchmark load generator (bench/loadgen.c) against a real nginx: it
# counts what nginx's access log says it served, with and without a
# client certificate, in keepalive and new-connection modes, with
# per-request tokens, chunked replies, non-2xx statuses and errors.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../../t/lib";
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);
use WidNginx;

my $root = WidNginx::repo_root();
my $build = $ENV{BUILD} || 'build';
my $lg = "$root/$build/bench/loadgen";
system('make', '-s', '--no-print-directory', '-C', $root, 'bench-tools') == 0
    or BAIL_OUT('make bench-tools failed');
ok(-x $lg, 'loadgen built');

my $t = WidNginx->new;
$t->server_cert;
$t->pki('td', $t->path('pki'), 'lg.test');
$t->pki('leaf', $t->path('pki'), 'lg.test', $t->path('pki/client'),
        '--id', 'spiffe://lg.test/client');
$t->write_file('index.html', "loadgen test page\n" x 20);
$t->write_file('big.txt', "0123456789abcdef\n" x 4000);

my $log = $t->path('logs/lg.log');
$t->run(<<"EOF");
http {
    log_format lg '\$server_port|\$status|\$connection|\$ssl_session_reused|'
                  '\$ssl_client_verify|\$http_authorization|\$bytes_sent';
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        listen 127.0.0.1:%%PORT_1%% ssl;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        ssl_protocols       TLSv1.2 TLSv1.3;
        access_log $log lg;
        root %%PREFIX%%;
        gzip on;
        gzip_min_length 1;
        gzip_types text/plain;
    }
    server {
        listen 127.0.0.1:%%PORT_2%% ssl;
        ssl_certificate        %%PKI%%/server.pem;
        ssl_certificate_key    %%PKI%%/server.key;
        ssl_verify_client      on;
        ssl_client_certificate %%PKI%%/lg.test.pem;
        access_log $log lg;
        root %%PREFIX%%;
    }
}
EOF

my ($p0, $p2) = ($t->port(0), $t->port(2));

sub lg {
    my (@args) = @_;
    my $cmd = join ' ', map { quotemeta } $lg, '--json', @args;
    my $out = `$cmd 2>&1`;
    my $rc = $? >> 8;
    my ($line) = grep { /^\{/ } split /\n/, $out;
    my $r = eval { decode_json($line // '') };
    return ($rc, $r, $out);
}

# Access log lines written since the last call (waits until n arrive).
my $seen = 0;
sub new_log_lines {
    my ($n) = @_;
    my @l;
    my $deadline = time + 3;
    while (time < $deadline) {
        @l = split /\n/, $t->read_file($log);
        last if @l - $seen >= $n;
        sleep 0.05;
    }
    my @new = @l[$seen .. $#l];
    $seen = @l;
    return map { [split /\|/] } @new;
}

sub distinct { my %h; $h{$_}++ for @_; return scalar keys %h }

# Keepalive, a fixed number of requests.
my ($rc, $r) = lg('-c', 4, '-n', 300, "https://127.0.0.1:$p0/index.html");
is($rc, 0, 'keepalive run exits 0');
is($r->{requests}, 300, 'counts 300 responses');
is($r->{status}{'2xx'}, 300, 'all 2xx');
is($r->{non_2xx}, 0, 'no non-2xx');
is($r->{errors}{total}, 0, 'no errors');
is($r->{connects}, 4, 'one connection per slot in keepalive mode');
my @l = new_log_lines(300);
is(scalar @l, 300, 'nginx logged exactly 300 requests');
is(distinct(map { $_->[2] } @l), 4, 'over 4 connections');
ok($r->{rps} > 0 && $r->{duration_s} > 0, 'a rate and a duration');
ok($r->{latency_us}{p50} > 0
   && $r->{latency_us}{p50} <= $r->{latency_us}{p99}
   && $r->{latency_us}{p99} <= $r->{latency_us}{max} * 1.02,
   'latency percentiles are ordered');

# A new TLS connection per request, no resumption.
($rc, $r) = lg('-c', 2, '-n', 40, '--new-conn',
               "https://127.0.0.1:$p0/index.html");
is($r->{requests}, 40, 'new-conn: 40 responses');
is($r->{connects}, 40, 'new-conn: 40 connections');
is($r->{resumed}, 0, 'new-conn: no resumption unless asked');
@l = new_log_lines(40);
is(distinct(map { $_->[2] } @l), 40, 'nginx saw 40 connections');
is(scalar(grep { $_->[3] eq 'r' } @l), 0, 'nginx resumed none');

($rc, $r) = lg('-c', 1, '-n', 10, '--new-conn', '--resume',
               "https://127.0.0.1:$p0/index.html");
is($r->{requests}, 10, '--resume: 10 responses');
@l = new_log_lines(10);
ok((grep { $_->[3] eq 'r' } @l) >= 8, '--resume: nginx resumed sessions');
is($r->{resumed}, scalar(grep { $_->[3] eq 'r' } @l),
   'resumed count agrees with nginx');

# Client certificate against ssl_verify_client on.
($rc, $r) = lg('-c', 2, '-n', 50, '--cert', $t->path('pki/client.pem'),
               '--key', $t->path('pki/client.key'),
               "https://127.0.0.1:$p2/index.html");
is($r->{status}{'2xx'}, 50, 'with a client certificate: 50 x 2xx');
ok($r->{client_cert}, 'reports the client certificate');
@l = new_log_lines(50);
is(scalar(grep { $_->[1] eq '200' && $_->[4] eq 'SUCCESS' } @l), 50,
   'nginx verified the certificate 50 times');

($rc, $r) = lg('-c', 2, '-n', 20, "https://127.0.0.1:$p2/index.html");
is($r->{status}{'2xx'}, 0, 'without a certificate: nothing served');
is($r->{non_2xx}, 20, 'without a certificate: 20 non-2xx');
is($r->{status}{'4xx'}, 20, '... all 4xx');
@l = new_log_lines(20);
is(scalar(grep { $_->[1] eq '400' } @l), 20, 'nginx answered 400 x 20');

# Non-2xx and chunked replies are counted, not mistaken for errors.
($rc, $r) = lg('-c', 2, '-n', 30, "https://127.0.0.1:$p0/missing");
is($r->{status}{'4xx'}, 30, '404s counted as 4xx');
is($r->{errors}{total}, 0, '... not as errors');
new_log_lines(30);
($rc, $r) = lg('-c', 2, '-n', 25, '-H', 'Accept-Encoding: gzip',
               "https://127.0.0.1:$p0/big.txt");
is($r->{status}{'2xx'}, 25, 'chunked (gzip) replies: 25 x 2xx');
is($r->{errors}{total}, 0, 'chunked replies parsed without error');
@l = new_log_lines(25);
ok($l[0][6] < 64000, 'they really were compressed');

# Per-request tokens: each once, the run ends when they run out.
my $tok = $t->path('tokens.txt');
$t->write_file($tok, join('', map { "tok.$_.x\n" } 1 .. 37));
($rc, $r) = lg('-c', 3, '-d', 30, '--tokens', $tok,
               "https://127.0.0.1:$p0/index.html");
is($r->{requests}, 37, 'tokens: one request per token');
is($r->{tokens_used}, 37, 'tokens: all used');
ok($r->{duration_s} < 10, 'the run ended when tokens ran out');
@l = new_log_lines(37);
is_deeply([sort map { $_->[5] } @l],
          [sort map { "Bearer tok.$_.x" } 1 .. 37],
          'nginx saw every token exactly once');

$t->write_file($tok, "good\nbad token\n");
($rc, undef, my $out) = lg('-n', 1, '--tokens', $tok,
                           "https://127.0.0.1:$p0/index.html");
is($rc, 2, 'a token with a space is refused');
like($out, qr/token 2 is malformed/, '... naming it');

# Duration mode.
($rc, $r) = lg('-c', 4, '-d', 0.5, "https://127.0.0.1:$p0/index.html");
ok($r->{requests} > 0, 'duration mode serves requests');
ok(abs($r->{duration_s} - 0.5) < 0.05, 'and lasts the given time');
ok(abs($r->{rps} - $r->{requests} / $r->{duration_s}) < 1,
   'rate = requests / duration');

# Nobody listening: errors, not a crash or a hang.
my $dead = $t->port(3);
($rc, $r) = lg('-c', 2, '-d', 0.3, "https://127.0.0.1:$dead/");
is($rc, 0, 'a refused connection is counted, exit 0');
is($r->{requests}, 0, 'no responses');
ok($r->{errors}{connect} > 0, 'connect errors counted');

# Text report and usage errors.
$out = `$lg -c 1 -n 3 https://127.0.0.1:$p0/index.html 2>&1`;
like($out, qr/requests\s+3 in/, 'text report');
like($out, qr/2xx 3, non-2xx 0/, 'text report counts');
system("$lg http://127.0.0.1:$p0/ >/dev/null 2>&1");
is($? >> 8, 2, 'a non-https URL is a usage error');
system("$lg --cert x https://127.0.0.1:$p0/ >/dev/null 2>&1");
is($? >> 8, 2, '--cert without --key is a usage error');
system("$lg -H 'bad' https://127.0.0.1:$p0/ >/dev/null 2>&1");
is($? >> 8, 2, 'a header without a colon is refused');

$t->stop;
$t->no_crashes;
done_testing;
