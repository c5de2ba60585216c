#!/usr/bin/perl
# Silent clients do not stall the daemon.  Another local user opens 20
# connections to the socket and sends nothing; meanwhile a real request
# is answered at once, not after each silent connection's deadline in
# turn (before, the daemon read one connection at a time, so N silent
# connections delayed everyone by N x request_timeout_ms and made
# `principals` with journal_socket deny logins).  One user holds at most
# 16 connections: the rest are closed at once.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use IO::Socket::UNIX;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);
use WidSshd qw(run helper_bin);
use WidIssue qw(serve_client issuer_conf start_serve stop_serve
                journal_verify journal_receipts);

plan skip_all => 'ssh-wid-helper not built (run make)' unless -x helper_bin();
plan skip_all => 'needs root (the silent clients run as nobody)' if $> != 0;

my $H = helper_bin();
my $d = tempdir('wid-slow-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{WID_KEEP});
chmod(0711, $d);
my ($p, $key) = serve_client($d);
my $conf = issuer_conf($p, policy => "$d/policy.yaml",
                       extra => "request_timeout_ms 3000\n"
                              . "socket_group nogroup\n");
my $sock = "$d/s.sock";
my $pid = start_serve($conf, $sock);

# The silent user: connects 20 times, reports how many the daemon closed
# at once, holds the rest open until told to go.
pipe(my $rd, my $wr) or die "pipe: $!";
pipe(my $go_rd, my $go_wr) or die "pipe: $!";
my $child = fork() // die "fork: $!";
if ($child == 0) {
    close($rd);
    close($go_wr);
    POSIX::setgid(65534);
    POSIX::setuid(65534);
    my @s;
    for (1 .. 20) {
        my $c = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $sock);
        push @s, $c if $c;
    }
    sleep(0.5);
    my $closed = 0;
    for my $c (@s) {
        my $rin = '';
        vec($rin, fileno($c), 1) = 1;
        next unless select(my $rout = $rin, undef, undef, 0) > 0;
        my $n = sysread($c, my $buf, 1);
        $closed++ if defined $n && $n == 0;
    }
    syswrite($wr, scalar(@s) . " $closed\n");
    sysread($go_rd, my $x, 1);       # hold them until the parent is done
    POSIX::_exit(0);
}
close($wr);
close($go_rd);
my $line = <$rd> // '';
my ($opened, $closed) = $line =~ /^(\d+) (\d+)$/;
is($opened, 20, 'the other user connected 20 times');
is($closed, 4, '... and the daemon closed the 4 beyond 16 at once');

my $t0 = time;
my ($rc, undef, $err) = run('/usr/bin/timeout', '20', $H, 'issue',
                            '--socket', $sock, '--pubkey', "$key.pub",
                            '--jwt', "\@$d/jwt.txt", '--out', "$d/cert.pub");
my $took = time - $t0;
is($rc, 0, 'a real request is answered while 16 silent ones are open')
    or diag($err);
cmp_ok($took, '<', 2.5, '... without waiting for their deadlines (3 s each)')
    or diag("took $took s");

syswrite($go_wr, 'x');
waitpid($child, 0);
is(stop_serve($pid), 0, 'serve stops cleanly');
($rc) = journal_verify($p);
is($rc, 0, 'journal verifies');
is(scalar(grep { $_->{surface} eq 'ssh_issue' } @{ journal_receipts($p) }), 1,
   'one receipt: silent connections sent no request');

done_testing;
