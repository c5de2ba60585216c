#!/usr/bin/perl
# The journal log of a worker killed with SIGKILL is sealed by the next
# worker that starts: its records after the last checkpoint are adopted
# and signed, so `wid journal verify` passes without
# --allow-unsigned-tail and keeps every receipt the dead worker wrote.
# Logs closed cleanly (a reload) are not reopened.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP;
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

# A log left by a worker of an earlier nginx that was killed: written
# with the CLI under an nginx writer name, killed mid-stream.
sub orphan {
    my ($writer, $n) = @_;
    pipe(my $in_r, my $in_w) or die;
    pipe(my $out_r, my $out_w) or die;
    my $pid = fork() // die;
    if ($pid == 0) {
        close $in_w; close $out_r;
        open STDIN, '<&', $in_r or die;
        open STDOUT, '>&', $out_w or die;
        open STDERR, '>', '/dev/null';
        exec $t->{wid}, 'journal', 'append', $J, '--key', $key,
             '--writer', $writer, '--fsync', 'always',
             '--checkpoint-ms', '60000';
        exit 127;
    }
    close $in_r; close $out_w;
    $in_w->autoflush(1);
    for my $i (1 .. $n) {
        print $in_w encode_json({
            surface => 'http', verdict => 'allow', reason => 'ok',
            rule => 'public', request => { method => 'GET', path => "/$i" },
        }), "\n";
    }
    my $got = 0;
    $got++ while $got < $n && defined(<$out_r>);
    kill 'KILL', $pid;
    waitpid($pid, 0);
    close $in_w; close $out_r;
    return $got;
}

mkdir $J or die;
is(orphan('nginx-1-1000', 3), 3, 'an earlier worker wrote 3 receipts and was killed');
my ($vrc, $vout) = $t->journal_verify($J);
is($vrc, 1, 'its log does not verify as it stands');
like($vout, qr/nginx-1-1000.*journal\.unsigned_tail/, 'unsigned tail');

$t->run(<<'EOF');
http {
    wid_trust_bundle example.org %%PKI%%/example.org.pem;
    wid_policy   %%PREFIX%%/policy.yaml;
    wid_journal  %%PREFIX%%/journal key=%%PKI%%/receipt.key
                 checkpoint_interval=60s;

    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        root %%PREFIX%%/www;

        add_header X-Pid "$pid" always;
        add_header X-Receipt "$wid_receipt_id" always;

        location / {
            wid on;
            wid_rule public;
        }
    }
}
EOF

$t->error_log_like(
    qr/\[notice\].*wid: sealed journal log of a stopped worker "nginx-1-1000": adopted 3 records/,
    'a starting worker sealed the earlier log: adopted 3 records');
# The other worker, starting together, must not seal it again (not even
# "adopted 0" after waiting for the first one's lock).
sleep 0.1;
my @once = $t->error_log =~ /(sealed journal log of a stopped worker "nginx-1-1000")/g;
is(scalar @once, 1, 'by one worker only');

# Requests on new connections until both workers have served some.
my %ids;    # pid => [receipt ids]
for (1 .. 400) {
    my $r = $t->get('/index.html');
    is($r->{status}, 200, 'allowed') or last unless $r->{status} == 200;
    my ($pid, $id) = @{$r->{headers}}{qw(x-pid x-receipt)};
    push @{$ids{$pid}}, $id if $pid && $id;
    last if keys %ids >= 2 && !grep { @$_ < 5 } values %ids;
}
my @pids = sort keys %ids;
is(scalar @pids, 2, 'both workers served requests with receipts')
    or diag explain \%ids;
my ($victim) = sort { @{$ids{$b}} <=> @{$ids{$a}} } @pids;
my $nv = scalar @{$ids{$victim}};
ok($nv >= 1, "worker $victim wrote $nv receipts");

# Let its 100 ms tick hand the buffered records to the kernel (the
# checkpoint interval, 60 s, is far off), then kill it.
sleep 0.4;
kill 'KILL', $victim;

$t->error_log_like(
    qr/\[notice\].*wid: sealed journal log of a stopped worker "nginx-$victim-\d+": adopted $nv records/,
    "the respawned worker sealed the killed worker's log: adopted $nv records");

# The respawned worker serves, and so does the other one.
my %after;
for (1 .. 200) {
    my $r = $t->get('/index.html');
    $after{$r->{headers}{'x-pid'} // ''}++ if $r->{status} == 200;
    last if grep({ $_ } keys %after) >= 2 && $_ >= 20;
}
ok(!$after{$victim}, 'the killed worker is gone');
is(scalar(grep { $_ } keys %after), 2, 'two workers serve after the respawn');

# A reload: the old workers close their logs cleanly; the new ones must
# not reopen them (each keeps its one segment).
my @before_reload = $t->worker_pids;
$t->reload;
$t->get('/index.html') for 1 .. 4;
sleep 0.3;
for my $w (@before_reload) {
    my ($dir) = glob("$J/nginx-$w-*");
    ok(-f "$dir/closed", "worker $w closed its log: marker left");
    my @segs = glob("$dir/seg-*.wjl");
    is(scalar @segs, 1, "worker $w: its closed log was not reopened");
}
my @sealed = $t->error_log =~ /(sealed journal log of a stopped worker)/g;
is(scalar @sealed, 2, 'nothing else was sealed: two logs in all');

$t->stop;

# Every log is signed to its end: no allow flag needed.
($vrc, $vout) = $t->journal_verify($J);
is($vrc, 0, 'wid journal verify passes without --allow-unsigned-tail')
    or diag $vout;
unlike($vout, qr/^ERROR/m, 'no error finding');
like($vout, qr/nginx-$victim-\d+.*journal\.recovered_unsigned.*adopted $nv unsigned/,
     "the adoption of the killed worker's $nv records is reported");
like($vout, qr/nginx-1-1000.*journal\.recovered_unsigned.*adopted 3 unsigned/,
     'and that of the earlier log');

my %have = map { $_->{id} => $_->{writer} } $t->journal_query($J);
my @missing = grep { !$have{$_} } @{$ids{$victim}};
is(scalar @missing, 0, "all $nv receipts of the killed worker are in the journal")
    or diag "missing: @missing";
ok(!grep({ $have{$_} !~ /^nginx-$victim-/ } @{$ids{$victim}}),
   'in its own log');
for my $dir (glob("$J/*")) {
    ok(-f "$dir/closed", "$dir is marked closed after the stop");
}

# Only the killed worker died, of SIGKILL.
my @deaths = $t->error_log =~ /worker process (\d+) exited on signal (\d+)/g;
is_deeply(\@deaths, [$victim, 9], 'only the killed worker died, of signal 9');
my @alerts = grep { /\[(?:alert|emerg|crit)\]/ && !/exited on signal 9$/ }
    split /\n/, $t->error_log;
is(scalar @alerts, 0, 'no alert but the kill') or diag "@alerts";

done_testing;
