#!/usr/bin/perl
# wid journal seal: the logs of writers killed with SIGKILL are reopened
# and closed (their unsigned records adopted, or a gap for damage), so
# verify passes without --allow-unsigned-tail; running writers, logs
# closed cleanly, logs of another key and logs outside --prefix are left
# alone; exit codes 0 sealed, 1 damage or another key, 2 usage/errors.
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use IO::Handle;
use JSON::PP;
use Test::More;

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
my $d = tempdir(CLEANUP => 1);
my $J = "$d/journal";
for my $k (qw(k other)) {
    system("$wid keygen --out $d/$k >/dev/null") == 0 or die "keygen";
}

# Run wid; returns (exit code, stdout, stderr).
sub run {
    my $cmd = join(' ', map { "'$_'" } $wid, @_);
    my $out = `$cmd 2> '$d/stderr'`;
    my $rc = $? >> 8;
    open my $fh, '<', "$d/stderr" or die;
    my $err = do { local $/; <$fh> };
    close $fh;
    return ($rc, $out, $err);
}

sub receipt {
    my ($i) = @_;
    return encode_json({
        surface => 'http', verdict => 'allow', reason => 'ok',
        rule => 'payments', operation => 'GET',
        identity => { spiffe_id => "spiffe://example.org/w/$i",
                      trust_domain => 'example.org' },
        request => { method => 'GET', host => 'api', path => "/r/$i" },
    }) . "\n";
}

# A writer that appends n receipts and then waits; returns its pid and
# the pipe that feeds it (close it for a clean close).
sub writer {
    my ($name, $n, $key) = @_;
    pipe(my $in_r, my $in_w) or die;
    pipe(my $out_r, my $out_w) or die;
    my $pid = fork() // die;
    if ($pid == 0) {
        close $in_w; close $out_r;
        open STDIN, '<&', $in_r or die;
        open STDOUT, '>&', $out_w or die;
        open STDERR, '>', '/dev/null';
        exec $wid, 'journal', 'append', $J, '--key', $key // "$d/k.key",
             '--writer', $name, '--fsync', 'always';
        exit 127;
    }
    close $in_r; close $out_w;
    $in_w->autoflush(1);
    print $in_w receipt($_) for 1 .. $n;
    my $got = 0;
    $got++ while $got < $n && defined(<$out_r>);
    die "writer $name: $got of $n appended" unless $got == $n;
    return ($pid, $in_w, $out_r);
}

# A writer killed with SIGKILL after n receipts.
sub killed {
    my ($pid, $in, $out) = writer(@_);
    kill 'KILL', $pid;
    waitpid($pid, 0);
    close $in; close $out;
}

sub nsegs { scalar(my @s = glob("$J/$_[0]/seg-*.wjl")) }

sub slurp {
    open my $fh, '<:raw', $_[0] or die "$_[0]: $!";
    local $/;
    return scalar <$fh>;
}

# --- usage and operational errors -------------------------------------------

my ($rc, $out, $err) = run('journal', 'seal', $J);
is($rc, 2, 'no --key: usage');
($rc, $out, $err) = run('journal', 'seal', $J, '--key', "$d/k.key",
                        '--prefix', 'a/b');
is($rc, 2, 'a prefix that no writer name can have: usage');
($rc, $out, $err) = run('journal', 'seal', "$d/nope", '--key', "$d/k.key");
is($rc, 2, 'no such directory');
like($err, qr/internal\.io_error/, 'io error named');
($rc, $out, $err) = run('journal', 'seal', $d, '--key', "$d/k.pub");
is($rc, 2, 'not a secret key');
($rc, $out, $err) = run('journal', 'seal', $d, '--key', "$d/k.key",
                        '--refuse-key', "$d/k.pub");
is($rc, 2, 'the key is one it must never be');
like($err, qr/journal\.key_is_refused/, 'journal.key_is_refused');

# --- crashed, closed and running writers --------------------------------------

killed('nginx-101-1', 5);
killed('ssh-issue-102-1', 4);
my ($p3, $in3, $out3) = writer('nginx-103-1', 2);
close $in3; waitpid($p3, 0); close $out3;               # closed cleanly
my ($live, $in4, $out4) = writer('nginx-104-1', 3);     # still running
ok(-f "$J/nginx-103-1/closed", 'a clean close leaves the marker');
ok(!-e "$J/nginx-101-1/closed", 'a killed writer leaves none');

($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub");
is($rc, 1, 'before sealing: verify fails');
like($out, qr/ERROR nginx-101-1.*journal\.unsigned_tail/, 'unsigned tail of the killed writer');

my %before = map { $_ => nsegs($_) } qw(nginx-103-1 nginx-104-1 ssh-issue-102-1);
($rc, $out, $err) = run('journal', 'seal', $J, '--key', "$d/k.key",
                        '--prefix', 'nginx-');
is($rc, 0, 'seal --prefix nginx-: exit 0');
is($out, "sealed nginx-101-1: adopted 5 record(s)\n",
   'one line: the killed writer, 5 records adopted');
like($err, qr/1 log\(s\) sealed \(5 record\(s\) adopted, 0 with a gap\); 1 closed, 1 running, 0 empty/,
     'summary: one sealed, one closed, one running');
is(nsegs($_), $before{$_}, "$_ untouched") for sort keys %before;
ok(-f "$J/nginx-101-1/closed", 'the sealed log is marked closed');

($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub");
is($rc, 1, 'the ssh log is still unsealed');
like($out, qr/ERROR ssh-issue-102-1.*journal\.unsigned_tail/, 'it is the only error');
unlike($out, qr/ERROR nginx-/, 'no error of an nginx log');

($rc, $out, $err) = run('journal', 'seal', $J, '--key', "$d/k.key");
is($rc, 0, 'seal without a prefix');
is($out, "sealed ssh-issue-102-1: adopted 4 record(s)\n", 'seals the ssh log');

# The running writer is alive and well; then it closes cleanly.
print $in4 receipt(9);
ok(defined(<$out4>), 'the running writer still appends');
close $in4; waitpid($live, 0); close $out4;
is($? >> 8, 0, 'and closes cleanly');

($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
                        '--json');
is($rc, 0, 'verify passes without --allow-unsigned-tail');
my $v = decode_json($out);
my @rec = grep { $_->{kind} eq 'recovered' } @{$v->{findings}};
is_deeply([sort map { $_->{writer} } @rec], ['nginx-101-1', 'ssh-issue-102-1'],
          'the two adoptions are reported as warnings');
my %recs = map { $_->{writer} => $_->{records} } @{$v->{writers}};
is($recs{'nginx-101-1'}, 5, 'the killed writer keeps its 5 receipts');
is($recs{'ssh-issue-102-1'}, 4, 'the ssh writer its 4');

my %segs = map { $_ => nsegs($_) } map { s{.*/}{}r } glob("$J/*");
($rc, $out, $err) = run('journal', 'seal', $J, '--key', "$d/k.key");
is($rc, 0, 'sealing again: exit 0');
is($out, '', 'nothing to do');
like($err, qr/0 log\(s\) sealed .* 4 closed/, 'four logs closed');
is(nsegs($_), $segs{$_}, "$_: not reopened") for sort keys %segs;

# --- damage, another key --------------------------------------------------------

killed('nginx-105-1', 6);
my $seg = "$J/nginx-105-1/seg-0000000000000001.wjl";
my $b = slurp($seg);
my ($off, @offs) = (0);
while ($off + 9 <= length $b) {
    push @offs, $off;
    $off += 9 + unpack('N', substr($b, $off + 4, 4));
}
is(scalar @offs, 8, 'header, checkpoint and 6 receipts');
open my $fh, '+<:raw', $seg or die;
seek $fh, $offs[5] + 30, 0;
print $fh chr(ord(substr($b, $offs[5] + 30, 1)) ^ 1);
close $fh;

killed('nginx-106-1', 2, "$d/other.key");
my $foreign = slurp("$J/nginx-106-1/seg-0000000000000001.wjl");

($rc, $out, $err) = run('journal', 'seal', $J, '--key', "$d/k.key");
is($rc, 1, 'damage and a log of another key: exit 1');
like($out, qr/^sealed nginx-105-1: damage \(journal\.frame_crc\) at segment 1 offset $offs[5] left in place; gap recorded, epoch 1$/m,
     'the damaged log gets a gap');
like($out, qr/^not sealed nginx-106-1: journal\.checkpoint_unsigned /m,
     'the log of another key is not sealed');
like($err, qr/wid journal seal: journal\.gap_recorded/, 'first finding on stderr');
is(slurp("$J/nginx-106-1/seg-0000000000000001.wjl"), $foreign,
   'the log of another key is untouched');
is(nsegs('nginx-106-1'), 1, 'and has no new segment');
is(slurp($seg), substr($b, 0, $offs[5] + 30)
   . chr(ord(substr($b, $offs[5] + 30, 1)) ^ 1) . substr($b, $offs[5] + 31),
   'the damaged segment is left as it was');

($rc, $out, $err) = run('journal', 'seal', $J, '--key', "$d/other.key",
                        '--prefix', 'nginx-106');
is($rc, 0, 'sealed with its own key');
is($out, "sealed nginx-106-1: adopted 2 record(s)\n", '2 records adopted');

($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
                        '--accept-gaps');
like($out, qr/nginx-105-1.*journal\.gap_recorded/, 'verify reports the gap');
unlike($out, qr/journal\.unsigned_tail/, 'and no unsigned tail anywhere');

# A log that cannot be reopened: reported, the others sealed, exit 2.
killed('nginx-107-1', 1);
killed('nginx-108-1', 2);
mkdir "$J/nginx-107-1/closed" or die;      # no marker: open cannot remove it
($rc, $out, $err) = run('journal', 'seal', $J, '--key', "$d/k.key",
                        '--prefix', 'nginx-10');
is($rc, 2, 'a log that cannot be reopened: exit 2');
like($out, qr/^not sealed nginx-107-1: internal\.io_error /m, 'it is named');
like($out, qr/^sealed nginx-108-1: adopted 2 record\(s\)$/m, 'the other one is sealed');
like($err, qr/1 failed/, 'summary counts it');

done_testing;
