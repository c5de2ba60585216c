#!/usr/bin/perl
# The issued-certificates index is as durable as the receipts: with
# `journal_fsync interval` the daemon fsyncs it on its 200 ms tick, as it
# does the journal (docs/ssh.md).  Before, only the journal was synced and
# the index was left to writeback, so after a power loss `revoke
# --spiffe-id` could miss a certificate whose receipt was durable.  Seen
# from outside with strace attached to the running daemon.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep);
use WidSshd qw(run slurp helper_bin);
use WidIssue qw(serve_client issuer_conf start_serve stop_serve);

plan skip_all => 'ssh-wid-helper not built (run make)' unless -x helper_bin();
plan skip_all => 'needs strace and root' unless -x '/usr/bin/strace' && $> == 0;

my $H = helper_bin();
my $d = tempdir('wid-ixsync-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{WID_KEEP});
my ($p, $key) = serve_client($d);

for my $mode (qw(interval never)) {
    my $conf = issuer_conf($p, policy => "$d/policy.yaml",
                           path => "$d/issuer-$mode.conf",
                           extra => "journal_fsync $mode\n");
    my $sock = "$d/$mode.sock";
    my $pid = start_serve($conf, $sock);
    my $trace = "$d/$mode.strace";
    my $st = fork() // die "fork: $!";
    if ($st == 0) {
        open(STDERR, '>', '/dev/null');
        exec('/usr/bin/strace', '-qq', '-p', $pid, '-e',
             'trace=openat,open,fsync,fdatasync,close', '-o', $trace)
            or POSIX::_exit(127);
    }
    for (1 .. 20) {
        last if -s $trace || waitpid($st, POSIX::WNOHANG()) == $st;
        sleep(0.05);
    }
    if (!kill(0, $st) || waitpid($st, POSIX::WNOHANG()) == $st) {
        # No ptrace here (a container without the capability): nothing
        # to watch with.
        stop_serve($pid);
        plan skip_all => 'strace cannot attach to a process here';
    }
    sleep(0.3);     # attached: strace writes nothing until a call is made

    my ($rc, undef, $err) = run($H, 'issue', '--socket', $sock, '--pubkey',
                                "$key.pub", '--jwt', "\@$d/jwt.txt",
                                '--out', "$d/cert-$mode.pub");
    is($rc, 0, "$mode: issued through the socket") or diag($err);
    sleep(0.6);     # at least two 200 ms ticks
    kill('INT', $st);
    waitpid($st, 0);
    is(stop_serve($pid), 0, "$mode: serve stops cleanly");

    # fds opened on the index, then whether any of them was fsynced.
    my (%index_fd, $synced);
    for (split /\n/, slurp($trace)) {
        if (/open(?:at)?\(.*"\Q$p->{index}\E".*= (\d+)$/) {
            $index_fd{$1} = 1;
        } elsif (/^(?:\d+\s+)?f(?:data)?sync\((\d+)\)\s+= 0/ && $index_fd{$1}) {
            $synced = 1;
        } elsif (/^(?:\d+\s+)?close\((\d+)\)/) {
            delete $index_fd{$1};
        }
    }
    if ($mode eq 'interval') {
        ok($synced, 'interval: the index is fsynced on the tick')
            or diag(slurp($trace));
    } else {
        ok(!$synced, 'never: the index is not fsynced');
    }
}

done_testing;
