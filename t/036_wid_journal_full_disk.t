#!/usr/bin/perl
# A journal on a disk that fills up under a running nginx: every request
# that got a receipt id has its receipt afterwards (before, a failed
# write threw the buffered receipts away: ids already sent to clients
# were missing and `wid journal verify` still passed); while receipts
# cannot be written, allows are withheld (500 http.journal_unavailable);
# once space returns the worker serves again by itself, without a reload;
# the outage is logged at alert when it starts and ends, not per request.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep);
use WidNginx;

plan skip_all => 'needs root (mounts a small tmpfs)' if $> != 0;

my $t = WidNginx->new;
my $p = $t->prefix;
my $J = "$p/mnt/journal";
mkdir "$p/mnt" or die "mkdir: $!";
system('/usr/bin/mount', '-t', 'tmpfs', '-o', 'size=256k,mode=0755', 'tmpfs',
       "$p/mnt") == 0
    or plan skip_all => 'cannot mount a tmpfs here';
my $mounted = 1;
END { system('/usr/bin/umount', "$p/mnt") if $mounted }

$t->server_cert;
$t->receipt_key;
$t->pki('td', $t->path('pki'), 'example.org');
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
    wid_journal  %%PREFIX%%/mnt/journal key=%%PKI%%/receipt.key
                 fsync=interval;

    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        root %%PREFIX%%/www;

        add_header X-Wid "$wid_verdict $wid_reason" always;
        add_header X-Receipt "$wid_receipt_id" always;

        location / {
            wid on;
            wid_rule public;
        }
    }
}
EOF

my (@ids, %status);
sub hit {
    my $r = $t->get('/index.html');
    $status{$r->{status}}++;
    push @ids, $r->{headers}{'x-receipt'} if $r->{headers}{'x-receipt'};
    return $r;
}

hit() for 1 .. 5;
is($status{200}, 5, 'served while there is space');

# Fill the disk; requests go on until the worker's writes are refused.
open(my $fh, '>', "$p/mnt/fill") or die "fill: $!";
{
    my $block = "\0" x 65536;
    1 while syswrite($fh, $block);
}
close($fh);
my $r;
for (1 .. 400) {
    $r = hit();
    last if $r->{status} == 500;
}
is($r->{status}, 500, 'the disk full: an allow is withheld');
like($r->{headers}{'x-wid'} // '', qr/deny http\.journal_unavailable/,
     '... http.journal_unavailable');
hit() for 1 .. 20;

unlink("$p/mnt/fill");
my $back;
for (1 .. 40) {
    sleep(0.1);
    $r = hit();
    if ($r->{status} == 200) { $back = 1; last }
}
ok($back, 'space again: served by itself, without a reload');

my $alerts = () = $t->error_log =~ /\[alert\]/g;
cmp_ok($alerts, '<=', 4, "the outage is said at alert a few times ($alerts), "
       . 'not per request');
$t->error_log_like(qr/\[alert\].*wid: journal: receipts are written again/,
                   '... including when it ends');

# Everything written so far, checked before the directory goes.
$t->reload;
my ($vrc, $vout) = $t->journal_verify($J);
is($vrc, 0, 'the journal verifies') or diag $vout;
my %have = map { ($_->{id} // '') => 1 } $t->journal_query($J);
is(scalar(grep { !$have{$_} } @ids), 0,
   'every receipt id sent to a client is in the journal (' . scalar(@ids)
   . ' ids)');

# The journal directory deleted under the worker: it stops writing
# (fail closed) and says a reload is needed; a reload recovers.
hit();
system('rm', '-rf', $J);
sleep(0.3);
$r = hit();
is($r->{status}, 500, 'journal directory deleted: allows withheld');
$t->error_log_like(qr/\[alert\].*journal\.segment_removed.*refused until nginx is reloaded/,
                   '... the worker says a reload is needed');
mkdir $J or die "mkdir: $!";
$t->reload;
is(hit()->{status}, 200, 'after a reload: served again');
$t->stop;
$t->no_crashes;

done_testing;
