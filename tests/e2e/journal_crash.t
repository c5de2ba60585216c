#!/usr/bin/perl
# Crash safety and concurrency of the receipt journal, through the CLI:
# kill -9 a writer (fsync=always) mid-stream 50 times; after each crash
# recovery keeps every record whose append had returned and the journal
# verifies; the same in the gap epoch of a damaged log.  Then three
# writer processes append at once.
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use IO::Handle;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
my $d = tempdir(CLEANUP => 1);
system("$wid keygen --out $d/k >/dev/null") == 0 or die "keygen";
my $J = "$d/journal";

sub receipt {
    my ($i) = @_;
    return encode_json({
        surface => 'http', verdict => ($i % 3 ? 'allow' : 'deny'),
        reason => 'ok', rule => 'payments', operation => 'GET',
        identity => { spiffe_id => "spiffe://example.org/w/$i",
                      trust_domain => 'example.org' },
        request => { method => 'GET', host => 'api', path => "/r/$i",
                     peer => '10.0.0.9' },
    }) . "\n";
}

sub ids_in_journal {
    my %ids;
    for (`$wid journal query $J --json`) {
        my $r = decode_json($_);
        $ids{$r->{id}} = $r->{seq};
    }
    return \%ids;
}

# `wid journal append` as writer NAME (fsync=always, a checkpoint every
# 7 records), fed and read through pipes: (pid, its stdin, its stdout).
sub spawn_writer {
    my ($name) = @_;
    pipe(my $in_r, my $in_w) or die;
    pipe(my $out_r, my $out_w) or die;
    my $pid = fork() // die;
    if ($pid == 0) {
        close $in_w; close $out_r;
        open STDIN, '<&', $in_r or die;
        open STDOUT, '>&', $out_w or die;
        open STDERR, '>', '/dev/null';
        exec $wid, 'journal', 'append', $J, '--key', "$d/k.key",
             '--writer', $name, '--fsync', 'always',
             '--checkpoint-every', '7';
        exit 127;
    }
    close $in_r; close $out_w;
    $in_w->autoflush(1);
    return ($pid, $in_w, $out_r);
}

my %acked;     # id => seq of every append that returned
my $lost = 0;
for my $round (1 .. 50) {
    my ($pid, $in_w, $out_r) = spawn_writer('crashy');
    # Keep it busy, then kill it at a varying point mid-stream.
    my $n = 5 + ($round * 7) % 23;
    print $in_w receipt($round * 1000 + $_) for 1 .. $n + 40;
    my $got = 0;
    while ($got < $n and defined(my $l = <$out_r>)) {
        my ($seq, $id) = split ' ', $l;
        $acked{$id} = $seq;
        $got++;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
    # Whatever it printed before dying had returned too.
    while (defined(my $l = <$out_r>)) {
        my ($seq, $id) = split ' ', $l;
        $acked{$id} = $seq if defined $id;
    }
    close $out_r; close $in_w;
}
ok(scalar(keys %acked) >= 50 * 5, scalar(keys %acked) . ' appends returned');

# Before recovery a torn tail may be there; recovery = reopen the writer.
my $rec = `$wid journal append $J --key $d/k.key --writer crashy --fsync always </dev/null 2>&1`;
is($? >> 8, 0, 'recovery (reopen with no input) succeeds');
my $v = `$wid journal verify $J --pubkey $d/k.pub --json`;
is($? >> 8, 0, 'journal verifies after 50 kill -9 and recovery');
my $vj = decode_json($v);
ok($vj->{valid}, 'valid in --json');
my ($cw) = grep { $_->{writer} eq 'crashy' } @{ $vj->{writers} };
is($cw->{epochs}, 1, 'every crash tail was adopted (no gap, one epoch)');
is($cw->{signed_size}, $cw->{tree_size}, 'and is signed now');
ok(!grep({ $_->{severity} eq 'error' } @{ $vj->{findings} }),
   'no error findings');
my $have = ids_in_journal();
my @missing = grep { !exists $have->{$_} } keys %acked;
is(scalar(@missing), 0, 'every acknowledged record survived');
my @wrongseq = grep { $have->{$_} != $acked{$_} } keys %acked;
is(scalar(@wrongseq), 0, 'with the seq the writer reported');

# Three writer processes at once, same directory, no shared lock.
my @pids;
for my $w (1 .. 3) {
    my $pid = fork() // die;
    if ($pid == 0) {
        open my $p, '|-', "$wid journal append $J --key $d/k.key"
            . " --writer par-$w --checkpoint-every 50 >/dev/null" or die;
        print $p receipt($w * 100000 + $_) for 1 .. 400;
        close $p;
        exit($? >> 8);
    }
    push @pids, $pid;
}
for (@pids) { waitpid($_, 0); is($? >> 8, 0, "writer $_ finished") }
$v = decode_json(scalar `$wid journal verify $J --pubkey $d/k.pub --json`);
ok($v->{valid}, 'journal with three concurrent writers verifies');
my %rec = map { $_->{writer} => $_->{records} } @{ $v->{writers} };
is($rec{"par-$_"}, 400, "par-$_ holds its 400 receipts") for 1 .. 3;

# A second process cannot take a writer name in use.
pipe(my $hr, my $hw) or die;
my $holder = fork() // die;
if ($holder == 0) {
    close $hw;
    open STDIN, '<&', $hr or die;
    open STDOUT, '>', '/dev/null';
    exec $wid, 'journal', 'append', $J, '--key', "$d/k.key", '--writer', 'busy';
}
close $hr;
select(undef, undef, undef, 0.3);
my $o = `$wid journal append $J --key $d/k.key --writer busy </dev/null 2>&1`;
is($? >> 8, 2, 'second process on the same writer refused');
like($o, qr/journal\.writer_busy/, 'with journal.writer_busy');
close $hw;
waitpid($holder, 0);

# After damage: the writer records one gap, then its gap epoch is a log
# like any other: later reopens replay it (no new gap), adopt the crash
# tails of writers killed in it, and cut torn tails, including a last
# frame zero-filled from inside it (a power loss).
sub seg_file {
    my ($w, $n) = @_;
    return sprintf("%s/%s/seg-%016d.wjl", $J, $w, $n);
}
sub last_seg {
    my ($w) = @_;
    my @s = sort glob("$J/$w/seg-*.wjl");
    return $s[-1];
}
sub slurp { open my $f, '<:raw', $_[0] or die "$_[0]: $!"; local $/; <$f> }
sub spew { open my $f, '>:raw', $_[0] or die "$_[0]: $!"; print $f $_[1] }
# Offsets, types and lengths of the frames of a segment.
sub frames {
    my ($b) = @_;
    my ($o, @f) = (0);
    while ($o + 9 <= length $b) {
        my (undef, $len, $type) = unpack('N N C', substr($b, $o, 9));
        push @f, [$o, $type, $len];
        $o += 9 + $len;
    }
    return @f;
}
sub reopen {
    my ($w) = @_;
    my $o = `$wid journal append $J --key $d/k.key --writer $w --checkpoint-every 7 </dev/null 2>&1`;
    is($? >> 8, 0, "reopen $w");
    return $o;
}
{
    my %sacked;
    open my $p, '|-', "$wid journal append $J --key $d/k.key --writer scar"
        . " --checkpoint-every 7 >/dev/null" or die;
    print $p receipt(900000 + $_) for 1 .. 30;
    close $p;
    my $seg1 = seg_file('scar', 1);
    my $buf = slurp($seg1);
    my $r5 = (frames($buf))[8];     # header, checkpoint, receipts 0..
    is($r5->[1], 2, 'a receipt');
    substr($buf, $r5->[0] + 20, 1) ^= "\x01";
    spew($seg1, $buf);
    like(reopen('scar'), qr/gap recorded, epoch 1/, 'damage: one gap');
    for my $round (1 .. 5) {
        my ($pid, $in_w, $out_r) = spawn_writer('scar');
        my $n = 4 + $round * 2;     # 6..14: some unsigned every time
        print $in_w receipt(910000 + $round * 100 + $_) for 1 .. $n;
        my $got = 0;
        while ($got < $n and defined(my $l = <$out_r>)) {
            my ($seq, $id) = split ' ', $l;
            $sacked{$id} = $seq;
            $got++;
        }
        kill 'KILL', $pid;
        waitpid($pid, 0);
        close $out_r; close $in_w;
        if ($round == 3) {
            # Power loss: zeros from 20 bytes into the last frame on.
            my $ls = last_seg('scar');
            my $lb = slurp($ls);
            my $lf = (frames($lb))[-1];
            my $z = $lf->[0] + 20;
            substr($lb, $z) = "\0" x (length($lb) - $z);
            spew($ls, $lb);
            my $o = reopen('scar');
            like($o, qr/torn tail of \d+ byte\(s\) cut/,
                 'zero-filled last frame cut as torn');
            unlike($o, qr/gap/, 'and no gap');
            # That receipt was acknowledged but is gone with the zeros.
            my $lost_id = (sort { $sacked{$b} <=> $sacked{$a} }
                           keys %sacked)[0];
            delete $sacked{$lost_id};
        }
        my $o = reopen('scar');
        like($o, qr/adopted|^$/, "crash $round in the gap epoch: adopted");
        unlike($o, qr/gap/, "crash $round: no new gap");
    }
    # A torn write: the first 50 bytes of a copy of a receipt.
    my $ls = last_seg('scar');
    my $r0 = (frames(slurp(seg_file('scar', 1))))[2];
    spew($ls, slurp($ls) . substr(slurp(seg_file('scar', 1)), $r0->[0], 50));
    my $o = reopen('scar');
    like($o, qr/torn tail of 50 byte\(s\) cut/, 'torn tail cut');
    unlike($o, qr/gap/, 'and no gap');
    for (1 .. 3) {
        unlike(reopen('scar'), qr/gap/, "empty reopen $_: no new gap");
    }
    my $v = decode_json(scalar
        `$wid journal verify $J --pubkey $d/k.pub --accept-gaps --json 2>/dev/null`);
    my ($sw) = grep { $_->{writer} eq 'scar' } @{ $v->{writers} };
    is($sw->{epochs}, 2, 'the damaged log has one gap epoch');
    is($sw->{signed_size}, $sw->{tree_size}, 'signed to its end');
    my @sf = grep { $_->{writer} eq 'scar' } @{ $v->{findings} };
    is(scalar(grep { $_->{kind} eq 'gap' } @sf), 1, 'one gap recorded');
    is(scalar(grep { $_->{severity} eq 'error' } @sf), 1,
       'one error: the damage');
    my $have = ids_in_journal();
    my @smissing = grep { !exists $have->{$_} } keys %sacked;
    is(scalar(@smissing), 0, 'acknowledged records of the gap epoch kept');
}

done_testing;
