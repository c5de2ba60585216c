#!/usr/bin/perl
# serve's peer attestation names the process that wrote the request, not
# only the one that called connect(): a client that connects, forks, and
# execs an allowed program while its child sends the request is refused
# (ssh.peer_unverifiable, attest.unix_process_changed, sender_pid=...).
# SO_PEERCRED alone names the connect()er, now running the allowed
# executable; the bytes carry their writer's pid (SO_PASSCRED).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cwd qw(abs_path);
use Digest::SHA qw(sha256_hex);
use File::Temp qw(tempdir);
use IO::Socket::UNIX;
use JSON::PP;
use POSIX qw(_exit);
use Socket qw(SOCK_STREAM);
use Test::More;
use Time::HiRes qw(sleep);
use WidSshd qw(run slurp spew helper_bin make_user_key);
use WidIssue qw(setup_td mint_jwt write_policy issuer_conf start_serve
                stop_serve sock_request journal_verify journal_receipts);

plan skip_all => 'ssh-wid-helper not built (run make)' unless -x helper_bin();
my $SLEEP = abs_path('/usr/bin/sleep');
plan skip_all => 'no /usr/bin/sleep' unless defined $SLEEP && -x $SLEEP;

my $H = helper_bin();
my $d = tempdir('wid-sender-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{WID_KEEP});
my $p = setup_td($d);
write_policy("$d/policy.yaml", user => 'deploy');
my $key = make_user_key($d, 'id');
my $publine = slurp("$key.pub");
chomp $publine;
my $jwt = mint_jwt($p);
spew("$d/good.jwt", $jwt);

# Allowed: sleep (the program the connect()er becomes) and the helper
# itself (the normal client).  Perl, which really writes, is not.
my $conf = issuer_conf($p, policy => "$d/policy.yaml",
                       extra => 'allow_exe_sha256 ' . sha256_hex(slurp($SLEEP))
                              . "\nallow_exe_sha256 "
                              . sha256_hex(slurp(abs_path($H)))
                              . "\nrequest_timeout_ms 1500\n");
my $sock = "$d/s.sock";
my $pid = start_serve($conf, $sock);
my $JSON = JSON::PP->new->canonical;
my $req = $JSON->encode({ pubkey => $publine, jwt => $jwt });
my $frame = pack('N', length $req) . $req;

# The normal allowed client gets its certificate.
my ($rc, $out, $err) = run($H, 'issue', '--socket', $sock, '--pubkey',
                           "$key.pub", '--jwt', "\@$d/good.jwt",
                           '--out', "$d/ok-cert.pub");
is($rc, 0, 'allowed executable (the helper) gets a certificate') or diag($err);
($rc) = run('/usr/bin/ssh-keygen', '-L', '-f', "$d/ok-cert.pub");
is($rc, 0, '... which ssh-keygen reads');

# Perl writing for itself: not on the allow-list.
my $ans = sock_request($sock, $req);
is($ans->{reason}, 'ssh.peer_not_allowed', 'perl as the peer: not allowed');

# The attack.  A blocker holds the single-threaded daemon (it reads until
# request_timeout_ms), so the attacker's connection is accepted only after
# its connect()er has exec'd sleep; without the sender check the daemon
# then saw an allowed executable and signed the child's request.
my $blk = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $sock)
    or die "connect: $!";
pipe(my $rd, my $wr) or die "pipe: $!";
my $a = fork() // die "fork: $!";
if ($a == 0) {
    close $rd;
    my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $sock)
        or _exit(3);
    my $b = fork() // _exit(4);
    if ($b == 0) {
        # The child: waits until its parent is sleep, then speaks.
        my $parent = getppid();
        for (1 .. 200) {
            last if (readlink("/proc/$parent/exe") // '') eq $SLEEP;
            sleep(0.01);
        }
        my $was = readlink("/proc/$parent/exe") // '';
        print $s $frame;
        my ($hdr, $body) = ('', '');
        read($s, $hdr, 4);
        read($s, $body, unpack('N', $hdr)) if length($hdr) == 4;
        print $wr "$$ $was\n$body\n";
        close $wr;
        _exit(0);
    }
    # The connect()er becomes an allowed program (same pid, start time).
    exec($SLEEP, '30') or _exit(5);
}
close $wr;
my $got = do { local $/; <$rd> } // '';
close $blk;
kill('KILL', $a);
waitpid($a, 0);
my ($head, $body) = split /\n/, $got, 2;
my ($child, $was) = split / /, $head // '', 2;
is($was, $SLEEP, 'the connect()er was running sleep when its child wrote');
$ans = eval { $JSON->decode($body // '') } // {};
is($ans->{verdict}, 'deny', 'fork + exec an allowed program: refused');
is($ans->{reason}, 'ssh.peer_unverifiable', '... as an unverifiable peer');
ok(!exists $ans->{certificate}, '... no certificate');
like($ans->{peer} // '', qr/^uid=$< gid=\d+ pid=$a unverified=attest\.unix_process_changed sender_pid=$child$/,
     '... the peer names the connect()er and the process that wrote');

# Still serving the normal client afterwards.
($rc, $out, $err) = run($H, 'issue', '--socket', $sock, '--pubkey',
                        "$key.pub", '--jwt', "\@$d/good.jwt",
                        '--out', "$d/ok2-cert.pub");
is($rc, 0, 'the allowed client is still served') or diag($err);

is(stop_serve($pid), 0, 'serve stops cleanly');
($rc, $out, $err) = journal_verify($p);
is($rc, 0, 'journal verifies') or diag($out, $err);
my @refused = grep { ($_->{request}{peer} // '') =~ /sender_pid=$child\b/ }
              @{ journal_receipts($p) };
is(scalar(@refused), 1, 'the refusal is recorded with both pids');

done_testing();
