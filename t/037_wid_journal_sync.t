#!/usr/bin/perl
# fsync=interval: each worker's syncs run in a helper process of its own
# ("wid-fsync"), so the worker stays single-threaded.  The helper
# holds no key, is replaced when it dies (the sync it had is counted as
# failed), and leaves with its worker.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use WidNginx;

my $t = WidNginx->new(workers => 2);
my $p = $t->prefix;
my $J = "$p/journal";
my $pki = $t->path('pki');
$t->server_cert;
my ($key, $pub) = $t->receipt_key;
$t->pki('td', $pki, 'example.org');

$t->write_file('policy.yaml', <<'EOF');
version: 1
rules:
  public:
    default: allow
EOF
$t->www_pages("hello\n", 'index.html');

$t->run(<<'EOF');
http {
    wid_trust_bundle example.org %%PKI%%/example.org.pem;
    wid_policy   %%PREFIX%%/policy.yaml;
    wid_journal  %%PREFIX%%/journal key=%%PKI%%/receipt.key fsync=interval;

    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        root %%PREFIX%%/www;

        add_header X-Pid "$pid" always;

        location / {
            wid on;
            wid_rule public;
        }
    }
}
EOF

sub children {
    my ($pid) = @_;
    my @c = `pgrep -P $pid`;
    chomp @c;
    return @c;
}

sub comm {
    my ($pid) = @_;
    open my $f, '<', "/proc/$pid/comm" or return '';
    my $c = <$f> // '';
    chomp $c;
    return $c;
}

sub threads {
    my ($pid) = @_;
    my @t = glob("/proc/$pid/task/*");
    return scalar @t;
}

# The helper of worker $w, once there is one (it starts with the worker).
sub helper_of {
    my ($w) = @_;
    my $deadline = time + 5;
    while (time < $deadline) {
        my @h = grep { comm($_) eq 'wid-fsync' } children($w);
        return $h[0] if @h == 1;
        sleep 0.05;
    }
    return undef;
}

my @workers = $t->worker_pids;
is(scalar @workers, 2, 'two workers');
my %helper;
for my $w (@workers) {
    $helper{$w} = helper_of($w);
    ok($helper{$w}, "worker $w has its fsync helper");
    is(threads($w), 1, "worker $w is single-threaded");
}

# Receipts are written and synced through the helper.
my %served;
for (1 .. 200) {
    my $r = $t->get('/index.html');
    $served{$r->{headers}{'x-pid'} // ''}++ if $r->{status} == 200;
    last if grep({ $_ } keys %served) >= 2 && $_ >= 20;
}
is(scalar(grep { $_ } keys %served), 2, 'both workers served');
sleep 0.5;    # several ticks: syncs ran

# The helper is not the key's keeper: the receipt key's seed is in the
# worker's memory (it signs checkpoints) and nowhere in the helper's, not
# even in freed heap the master left when it read the key file (the ASan
# run keeps freed memory as it was, which is how that was found).
sub seed_of {
    my ($file) = @_;
    open my $f, '<', $file or die "$file: $!";
    local $/;
    my $pem = <$f>;
    my ($b64) = $pem =~ /-----BEGIN PRIVATE KEY-----(.*?)-----END/s;
    $b64 =~ s/\s+//g;
    require MIME::Base64;
    return substr(MIME::Base64::decode_base64($b64), -32);
}

sub memory_has {
    my ($pid, $needle) = @_;
    open my $maps, '<', "/proc/$pid/maps" or return undef;
    open my $mem, '<:raw', "/proc/$pid/mem" or return undef;
    while (my $line = <$maps>) {
        my ($lo, $hi, $perm) = $line =~ /^([0-9a-f]+)-([0-9a-f]+) (\S+)/
            or next;
        next unless $perm =~ /^r/;
        no warnings "portable";
        my ($a, $len) = (hex $lo, hex($hi) - hex($lo));
        next if $len > 512 * 1024 * 1024;
        sysseek($mem, $a, 0) or next;
        my $buf = '';
        my $n = sysread($mem, $buf, $len);
        next unless $n;
        return 1 if index($buf, $needle) >= 0;
    }
    return 0;
}

{
    my $seed = seed_of($key);
    my $w = $workers[0];
    my $h = $helper{$w};
    is(length $seed, 32, 'the receipt key seed read from its file');
    is(memory_has($w, $seed), 1, 'the worker holds the key (the scan finds it)');
    is(memory_has($h, $seed), 0, 'its helper does not');
    is(threads($h), 1, 'the helper is one thread');
    my @fds = glob("/proc/$h/fd/*");
    ok(@fds <= 4, 'the helper holds no descriptor but stdio and its socket '
                  . '(between syncs)') or diag join ' ', map { readlink $_ } @fds;
}

# A helper killed with a sync in its hands: stopped first, so that the
# worker's next sync waits on it, then killed.  The worker says so, counts
# that sync as failed (the segment is abandoned for a new one: nothing
# recorded is lost) and starts another helper.
my $victim = $workers[0];
my ($vdir) = glob("$J/nginx-$victim-*");
my @segs = glob("$vdir/seg-*.wjl");
kill 'STOP', $helper{$victim};
my $mine = 0;
for (1 .. 200) {
    my $r = $t->get('/index.html');
    $mine++ if ($r->{headers}{'x-pid'} // '') eq $victim;
    last if $mine >= 5;
}
ok($mine >= 5, "worker $victim wrote receipts while its helper was stopped");
sleep 0.5;                   # its tick handed the stopped helper a sync
kill 'KILL', $helper{$victim};
$t->error_log_like(qr/\[alert\] $victim#\d+: wid: journal: the fsync helper exited/,
                   'the worker noticed its helper died');
$t->error_log_like(qr/\[alert\] $victim#\d+: wid: journal fsync: journal\.fsync_failed/,
                   'the sync it had in hand counted as failed');
my @segs_after = glob("$vdir/seg-*.wjl");
ok(@segs_after > @segs, 'the segment was abandoned for a new one ('
                        . scalar(@segs) . ' -> ' . scalar(@segs_after) . ')');
my $deadline = time + 5;
my $new;
while (time < $deadline) {
    $t->get('/index.html');
    $new = helper_of($victim);
    last if $new && $new != $helper{$victim};
    sleep 0.1;
}
ok($new && $new != $helper{$victim}, 'a new helper took over');
is(threads($victim), 1, 'the worker is still single-threaded');
$t->get('/index.html') for 1 .. 20;
sleep 0.5;

# A worker that leaves takes its helper with it.
my @helpers = map { helper_of($_) } @workers;
$t->stop;
sleep 0.3;
for my $h (@helpers) {
    ok(!kill(0, $h), "helper $h is gone with its worker");
}

# Every receipt is there and signed; the sync that the dead helper may
# have had in hand was counted as failed (a new segment), never lost.
my ($vrc, $vout) = $t->journal_verify($J);
is($vrc, 0, 'wid journal verify passes') or diag $vout;

my @alerts = grep { /\[(?:alert|emerg|crit)\]/
                    && !/the fsync helper exited|journal fsync: journal\.fsync_failed/
                    && !/unknown process $helper{$victim} exited on signal 9/ }
    split /\n/, $t->error_log;
is(scalar @alerts, 0, 'no other alert') or diag "@alerts";

done_testing;
