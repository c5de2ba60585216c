#!/usr/bin/perl
# Bundles rewritten in place are picked up without a reload within
# wid_bundle_refresh; a torn rewrite keeps the last good bundle and is
# logged once; `nginx -s reload` re-reads everything; two workers share
# the JWT-SVID cache and each writes its own journal log; a worker that
# cannot write its journal denies what it would allow.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use WidNginx;

my $t = WidNginx->new(workers => 2);
my $pki = $t->path('pki');
$t->server_cert;
$t->receipt_key;

# Two generations of the example.org CA: old and new.
$t->pki('td', "$pki/old", 'example.org');
$t->pki('td', "$pki/new", 'example.org');
$t->pki('leaf', "$pki/old", 'example.org', "$pki/w-old",
        '--id', 'spiffe://example.org/w');
$t->pki('leaf', "$pki/new", 'example.org', "$pki/w-new",
        '--id', 'spiffe://example.org/w');
my $old_pem = $t->read_file("$pki/old/example.org.pem");
my $new_pem = $t->read_file("$pki/new/example.org.pem");
$t->write_file('pki/example.org.pem', $old_pem);
$t->jwt_authority('example.org', 'k1');

my @old = (cert => "$pki/w-old.pem", key => "$pki/w-old.key");
my @new = (cert => "$pki/w-new.pem", key => "$pki/w-new.key");

$t->api_policy('example.org');
$t->www_pages("hello\n", 'index.html');

my $conf = <<'EOF';
http {
    wid_trust_bundle   example.org %%PKI%%/example.org.pem;
    wid_trust_bundle   example.org %%PKI%%/example.org.jwt.json;
    wid_bundle_refresh 200ms;
    wid_policy         %%PREFIX%%/policy.yaml;
    wid_journal        %%PREFIX%%/journal key=%%PKI%%/receipt.key
                       checkpoint_interval=100ms;
    wid_cache_zone     wid:1m;

    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        ssl_verify_client   optional_no_ca;
        root %%PREFIX%%/www;

        add_header X-Wid "$wid_verdict $wid_reason" always;
        add_header X-Wid-Cache "$wid_cache" always;
        add_header X-Pid "$pid" always;

        location / {
            wid on;
            wid_rule api;
            wid_jwt_audience wid-test;
        }
    }
}
EOF
$t->run($conf);

sub status { $t->get('/index.html', @_)->{status} }

# Poll until the expected status shows up (the refresh is periodic).
sub eventually {
    my ($want, @req) = @_;
    my $deadline = time + 3;
    my $got;
    while (time < $deadline) {
        $got = status(@req);
        return $got if $got == $want;
        sleep 0.1;
    }
    return $got;
}

is(status(@old), 200, 'old CA trusted at start');
is(status(@new), 401, 'new CA not yet trusted');

# --- rotation without reload ---------------------------------------------

$t->write_file('pki/example.org.pem', $new_pem);
is(eventually(200, @new), 200, 'rewritten bundle picked up without reload');
is(status(@old), 401, 'old CA no longer trusted');
$t->error_log_like(qr/trust bundles changed on disk and were reloaded/,
                   'rotation logged');

# --- torn rewrite: last good bundle stays, logged once ---------------------

$t->write_file('pki/example.org.pem', substr($new_pem, 0, 100));
sleep 0.8;
is(status(@new), 200, 'torn bundle: last good bundle stays in use');
is(status(@old), 401, 'torn bundle trusts nothing new');
my @torn = $t->error_log =~ /(trust bundle "[^"]*example\.org\.pem".*bundle\.pem_invalid)/g;
ok(@torn >= 1 && @torn <= 2, 'torn bundle logged once per worker')
    or diag scalar(@torn) . " log lines";
sleep 0.5;
my @again = $t->error_log =~ /(trust bundle "[^"]*example\.org\.pem".*bundle\.pem_invalid)/g;
is(scalar @again, scalar @torn, 'and not again on later refreshes');

# --- JWT cache shared by two workers; invalidated by a bundle change ------

my $tok = $t->mint_jwt(kid => 'k1', sub => 'spiffe://example.org/w/a');
my (%seen, %by_pid);
for (1 .. 40) {
    my $r = $t->get('/index.html',
                    headers => { Authorization => "Bearer $tok" });
    is($r->{status}, 200, 'JWT-SVID allowed') if $_ == 1;
    push @{$by_pid{$r->{headers}{'x-pid'}}}, $r->{headers}{'x-wid-cache'};
    last if keys %by_pid >= 2
        && grep { $_->[0] eq 'zone_hit' } values %by_pid;
}
my @pids = keys %by_pid;
my $misses = grep { $_ eq 'miss' } map { @$_ } values %by_pid;
SKIP: {
    skip 'all requests reached one worker', 2 if @pids < 2;
    is($misses, 1, 'verified once for both workers');
    ok((grep { $_->[0] eq 'zone_hit' } values %by_pid),
       'the other worker starts with a cache hit');
}

# Rotating the JWT authority's file invalidates the cached result.
$t->jwt_authority('example.org', 'k2');
sleep 0.6;
my $r = $t->get('/index.html', headers => { Authorization => "Bearer $tok" });
is($r->{headers}{'x-wid-cache'}, 'miss', 'bundle change invalidates the cache');
is($r->{status}, 200, 'token still valid under the new bundle');
{
    local $t->{jwks}{'example.org'} = [ $t->{jwks}{'example.org'}[1] ];
    $t->write_jwks('example.org');
}
sleep 0.6;
$r = $t->get('/index.html', headers => { Authorization => "Bearer $tok" });
is($r->{status}, 401, 'authority withdrawn: cached token refused');
like($r->{headers}{'x-wid'}, qr/jwt\.kid_unknown/, 'reason');

# --- reload re-reads everything --------------------------------------------

$t->write_file('pki/example.org.pem', $old_pem);
$t->write_file('policy.yaml', <<'EOF');
version: 1
rules:
  api:
    allow: [GET]
    require_workload_identity:
      trust_domain: example.org
      path_prefixes: [/elsewhere]
EOF
$t->reload;
$r = $t->get('/index.html', @old);
is($r->{status}, 403, 'after reload: the new policy decides');
like($r->{headers}{'x-wid'}, qr/policy\.path_prefix/, 'with its reason');

# --- a reload that drops wid altogether ------------------------------------
# The master unloads the module before it starts new workers: nothing of
# it may stay registered where TLS calls it (every SSL_free would jump
# into unmapped code).

$t->without_module->reload(<<'EOF');
http {
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        root %%PREFIX%%/www;
    }
}
EOF
my @codes;
for (1 .. 3) {
    my $c = $t->conn;
    push @codes, map { $c->get('/index.html')->{status} } 1 .. 2;
    $c->close;
}
push @codes, $t->get('/index.html', @old)->{status};
is("@codes", '200 200 200 200 200 200 200',
   'without the module: TLS connections served and closed');
sleep 0.3;
$t->no_crashes('no worker crashed after the module was unloaded');

$t->stop;
$t->no_crashes;

my ($rc, $out) = $t->journal_verify($t->path('journal'));
is($rc, 0, 'journal verifies') or diag $out;
opendir my $dh, $t->path('journal') or die;
my @writers = grep { /^nginx-\d+-\d+$/ } readdir $dh;
cmp_ok(scalar @writers, '>=', 4, 'one journal log per worker (two '
       . 'generations of two workers)') or diag "@writers";

# --- a worker that cannot write its journal withholds every allow ---------

my $u = WidNginx->new(user => 'nobody nogroup');
for my $f (qw(server.pem server.key receipt.key receipt.pub
              example.org.jwt.json)) {
    $u->write_file("pki/$f", $t->read_file("$pki/$f"), 0600);
}
$u->write_file('pki/example.org.pem', $new_pem, 0644);
$u->write_file('pki/w.pem', $t->read_file("$pki/w-new.pem"));
$u->write_file('pki/w.key', $t->read_file("$pki/w-new.key"));
$u->write_file('policy.yaml', <<'EOF');
version: 1
rules:
  api:
    allow: [GET]
    require_workload_identity:
      trust_domain: example.org
EOF
mkdir $u->path('www');
$u->write_file('www/index.html', "hello\n");
# The journal directory is created for the worker user, but its parent
# is private to root: the workers cannot reach it.
mkdir $u->path('private'), 0700;
(my $uconf = $conf) =~ s{%%PREFIX%%/journal}{%%PREFIX%%/private/journal};
$uconf =~ s/wid_bundle_refresh 200ms;//;
# An observe location: what it lets through cannot be recorded either.
$uconf =~ s{(        location / \{)}{        location /obs/ {
            wid observe;
            wid_rule api;
            wid_jwt_audience wid-test;
        }

$1};
mkdir $u->path('www/obs');
$u->write_file('www/obs/index.html', "observed\n");
# A declared wid_journal pool is the only one the workers start.
$u->run("thread_pool wid_journal threads=1;\n$uconf");
$r = $u->get('/index.html', cert => $u->path('pki/w.pem'),
             key => $u->path('pki/w.key'));
is($r->{status}, 500, 'journal unavailable: an allow is withheld');
like($r->{headers}{'x-wid'}, qr/deny http\.journal_unavailable/,
     'http.journal_unavailable');
$u->error_log_like(qr/\[alert\].*wid: journal .* not opened: .*retried every 1000 ms/,
                   'the worker says why, at alert, once');
# Each request of the outage is logged at info, not at alert: a journal
# that cannot be written must not also flood the error log.
$u->error_log_like(qr/\[info\].*wid: failed: http\.journal_unavailable/,
                   '... and the withheld allow at info');

# A deny and an observed request are not recorded either: said, at info.
$r = $u->get('/index.html');
is($r->{status}, 401, 'journal unavailable: a deny is still a deny');
$u->error_log_like(qr/\[info\].*wid: decision not recorded: http\.journal_unavailable, verdict deny policy\.identity_missing, rule "api"/,
                   '... logged as not recorded');
$r = $u->get('/obs/index.html');
is($r->{status}, 200, 'observe mode lets the request through');

sub threads_of {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return -1;
    while (<$fh>) { return $1 if /^Threads:\s+(\d+)/ }
    return -1;
}
is(threads_of(($u->worker_pids)[0]), 2,
   'thread_pool wid_journal declared: a worker has its one thread, not '
   . 'nginx\'s default 32 as well');
$u->error_log_like(qr/\[info\].*wid: observe: decision not recorded: http\.journal_unavailable/,
                   '... and says that it was not recorded');
my $alerts = () = $u->error_log =~ /\[alert\].*not opened/g;
is($alerts, 1, 'the outage is said at alert once, not per request or tick');

# The journal becomes reachable: the worker opens its log by itself
# (retried every second) and allows again, with receipts.
chmod 0755, $u->path('private');
my $back;
for (1 .. 40) {
    $r = $u->get('/index.html', cert => $u->path('pki/w.pem'),
                 key => $u->path('pki/w.key'));
    if ($r->{status} == 200) { $back = 1; last }
    select(undef, undef, undef, 0.1);
}
ok($back, 'the journal reachable again: the worker allows without a restart');
like($r->{headers}{'x-wid'} // '', qr/^allow ok/, '... decided allow');
$u->error_log_like(qr/\[alert\].*wid: journal writer "nginx-\d+-\d+" open/,
                   '... and says at alert that receipts are written again');
$u->stop;
my ($vrc, $vout) = $u->journal_verify($u->path('private/journal'));
is($vrc, 0, 'the journal opened late verifies') or diag $vout;
is(scalar(grep { $_->{verdict} eq 'allow' }
          $u->journal_query($u->path('private/journal'))), 1,
   '... and holds the receipt of that allow');
$u->no_crashes;

done_testing;
