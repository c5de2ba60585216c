#!/usr/bin/perl
# The serve daemon out of file descriptors does not spin: accept() fails
# while connections wait in the backlog, and polling the listening socket
# again at once would keep a core busy.  It backs off, and serves again
# once descriptors are free.  Before, it used a whole core meanwhile.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use IO::Socket::UNIX;
use Test::More;
use Time::HiRes qw(sleep);
use WidSshd qw(run helper_bin);
use WidIssue qw(serve_client issuer_conf start_serve stop_serve);

plan skip_all => 'ssh-wid-helper not built (run make)' unless -x helper_bin();
plan skip_all => 'needs prlimit and root' unless -x '/usr/bin/prlimit' && $> == 0;

my $H = helper_bin();
my $d = tempdir('wid-nofd-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{WID_KEEP});
my ($p, $key) = serve_client($d);
my $sock = "$d/s.sock";
my $pid = start_serve(issuer_conf($p, policy => "$d/policy.yaml"), $sock);

sub cpu_s {
    open(my $f, '<', "/proc/$pid/schedstat") or return -1;
    return (split ' ', scalar <$f>)[0] / 1e9;
}

# Room for two more descriptors: a few connections, then accept fails.
my $nfd = () = glob("/proc/$pid/fd/*");
my $lim = $nfd + 2;
is(system('/usr/bin/prlimit', "--pid=$pid", "--nofile=$lim:"), 0,
   'the daemon limited to two more file descriptors');
my @c = map { IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $sock) }
        1 .. 8;
sleep(0.3);
my $c0 = cpu_s();
sleep(1);
my $used = cpu_s() - $c0;
cmp_ok($used, '<', 0.5, "out of descriptors: no busy loop (${used}s of CPU "
       . 'in 1 s)');
ok(kill(0, $pid), '... and the daemon is alive');

close($_) for grep { $_ } @c;
is(system('/usr/bin/prlimit', "--pid=$pid", '--nofile=1024:'), 0,
   'descriptors again');
my ($rc, undef, $err) = run($H, 'issue', '--socket', $sock, '--pubkey',
                            "$key.pub", '--jwt', "\@$d/jwt.txt",
                            '--out', "$d/cert.pub");
is($rc, 0, '... and a request is served') or diag($err);
is(stop_serve($pid), 0, 'serve stops cleanly');

done_testing;
