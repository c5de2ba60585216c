#!/usr/bin/perl
# The JWT-SVID zone at the smallest size nginx takes for it (8 pages),
# shared by two workers, flooded with many more distinct tokens than it
# holds: every request still gets its own verdict, nothing is logged at
# alert or crit, no worker dies, the zone never runs out of room for a new
# entry (eviction makes it), and the first tokens, long evicted, are
# verified again ($wid_cache miss) while the latest are still zone hits.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX qw(sysconf _SC_PAGESIZE);
use Test::More;
use WidNginx;

my $t = WidNginx->new(workers => 2);
my $pki = $t->path('pki');
$t->server_cert;
$t->receipt_key;
$t->pki('td', $pki, 'example.org');
$t->jwt_authority('example.org', 'k1');

$t->api_policy('example.org');
$t->www_pages("ok\n", 'index.html');

my $page = sysconf(_SC_PAGESIZE) || 4096;
my $min = 8 * $page;

my $conf = <<'EOF';
http {
    wid_trust_bundle example.org %%PKI%%/example.org.pem;
    wid_trust_bundle example.org %%PKI%%/example.org.jwt.json;
    wid_policy       %%PREFIX%%/policy.yaml;
    wid_journal      %%PREFIX%%/journal key=%%PKI%%/receipt.key
                     checkpoint_records=100 checkpoint_interval=100ms;
    wid_cache_zone   wid:ZONE;
    wid_jwt_audience wid-test;
    keepalive_requests 100000;

    server {
        listen 127.0.0.1:%%PORT_0%% ssl reuseport;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        root %%PREFIX%%/www;

        add_header X-Wid "$wid_verdict $wid_reason" always;
        add_header X-Wid-Cache "$wid_cache" always;
        add_header X-Wid-Id "$wid_spiffe_id" always;

        location / {
            wid on;
            wid_rule api;
        }

        location = /pid {
            return 200 "$pid";
        }
    }
}
EOF
sub zone_conf { (my $c = $conf) =~ s/ZONE/$_[0]/; $c }

# The smallest zone is 8 pages: one byte less fails nginx -t.
{
    my ($ok, $out) = $t->test_config(zone_conf($min - 1));
    ok(!$ok, "nginx -t: a zone of 8 pages less one byte is refused");
    like($out, qr/zone "wid:\d+" is too small/, '... too small') or diag $out;
}
my $log_start = length $t->error_log;
$t->run(zone_conf($min));

# Tokens: most allowed; every fifth names a path the policy denies (a
# valid token, cached like any other); every seventh is forged (one byte
# of its signature changed: never cached).
my $N = 600;
my (@tok, @want);
for my $i (0 .. $N - 1) {
    my $denied = $i % 5 == 4;
    my $sub = 'spiffe://example.org/' . ($denied ? 'x' : 'w') . "/t$i";
    my $tok = $t->mint_jwt(kid => 'k1', sub => $sub);
    if ($i % 7 == 6) {
        my $k = length($tok) - 12;
        substr($tok, $k, 1) = substr($tok, $k, 1) eq 'A' ? 'B' : 'A';
        push @want, [401, 'deny jwt.bad_signature', ''];
    } elsif ($denied) {
        push @want, [403, 'deny policy.path_prefix', $sub];
    } else {
        push @want, [200, 'allow ok', $sub];
    }
    push @tok, $tok;
}

# One keepalive connection to each worker (reuseport spreads them).
my %by_pid;
for (1 .. 64) {
    my $c = $t->conn;
    $by_pid{ $c->get('/pid')->{body} } //= $c;
    last if keys %by_pid == 2;
}
my @conns = map { $by_pid{$_} } sort keys %by_pid;
is(scalar @conns, 2, 'a connection to each of the two workers');

my %receipts;

# One request; the verdict is compared, $wid_cache returned.  Failures
# are collected so that 600 requests do not make 2400 test lines.
my @wrong;
sub send_token {
    my ($i, $c) = @_;
    my $r = $c->get('/index.html',
                    headers => { Authorization => "Bearer $tok[$i]" });
    my ($status, $x, $id) = @{$want[$i]};
    my $got = [ $r->{status}, $r->{headers}{'x-wid'} // '',
                $r->{headers}{'x-wid-id'} // '' ];
    push @wrong, "token $i: got @$got, want @{$want[$i]}"
        unless "@$got" eq "@{$want[$i]}";
    (my $reason = $x) =~ s/^\S+ //;
    $receipts{$reason}++;
    return $r->{headers}{'x-wid-cache'} // '';
}

my %first;
for my $i (0 .. $N - 1) {
    $first{ send_token($i, $conns[$i % @conns]) }++;
}
is_deeply(\@wrong, [], "$N distinct tokens: every one gets its own verdict")
    or diag join "\n", @wrong[0 .. ($#wrong < 9 ? $#wrong : 9)];
is_deeply(\%first, { miss => $N }, '... each verified once, a miss');

# The latest valid tokens are still in the zone, for the other worker.
my @last = grep { $want[$_][0] != 401 } $N - 12 .. $N - 1;
@wrong = ();
my @hits = map { send_token($_, $conns[($_ + 1) % @conns]) } @last;
is_deeply(\@wrong, [], 'the latest tokens again: same verdicts');
is_deeply(\@hits, [ ('zone_hit') x @last ],
          '... from the zone, also in the worker that did not verify them');

# The first ones were evicted long ago: verified again, then cached again.
# CLOCK only approximates least recently used (the hand sweeps 16 buckets
# at a time, an entry is spared once): rarely, one of the earliest can
# outlive later ones, so almost all, not all, must be misses.
my @early = grep { $want[$_][0] != 401 } 0 .. 19;
@wrong = ();
my @again = map { send_token($_, $conns[0]) } @early;
is_deeply(\@wrong, [], 'the first tokens again: same verdicts');
my $misses = grep { $_ eq 'miss' } @again;
ok($misses >= @early - 2, '... evicted: verified again')
    or diag "misses: $misses of " . scalar(@early) . ": @again";
is_deeply([ grep { $_ ne 'miss' && $_ ne 'zone_hit' } @again ], [],
          '... each a miss or a zone hit');
@again = map { send_token($_, $conns[1]) } @early;
is_deeply(\@again, [ ('zone_hit') x @early ], '... and cached again');

# Forged tokens are never cached, however often they come.
my @forged = grep { $want[$_][0] == 401 } 0 .. 40;
@wrong = ();
@again = map { send_token($_, $conns[$_ % @conns]) } @forged, @forged;
is_deeply(\@wrong, [], 'forged tokens again: refused');
is_deeply(\@again, [ ('miss') x (2 * @forged) ], '... never cached');

$_->close for @conns;
$t->stop;

my $log = substr($t->error_log, $log_start);
unlike($log, qr/exited on signal|exited with code [1-9]/, 'no worker died');
unlike($log, qr/\[(alert|crit|emerg)\]/, 'nothing at alert or crit');
unlike($log, qr/is too small for an entry/,
       'eviction always made room for a new entry');
like($log, qr/worker process \d+ exited with code 0.*worker process \d+ exited with code 0/s,
     'both workers ran and exited cleanly');

my ($rc, $out) = $t->journal_verify($t->path('journal'));
is($rc, 0, 'journal verifies') or diag $out;
my %got;
$got{$_->{reason}}++ for $t->journal_query($t->path('journal'));
is_deeply(\%got, \%receipts, 'one receipt per request, with its reason')
    or diag explain [ \%got, \%receipts ];

done_testing;
