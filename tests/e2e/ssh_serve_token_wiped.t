#!/usr/bin/perl
# The serve daemon keeps no copy of a bearer token after answering: a
# JWT-SVID for the helper's audience can be replayed for any SSH key
# until it expires, so the request frame and the parsed copies are
# wiped before they are freed.  Checked by reading the running daemon's
# writable memory (/proc/PID/mem) for the token's payload and signature,
# with a string the daemon does keep as the control.
use strict;
use warnings;
no warnings 'portable';       # 64-bit addresses
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use WidSshd qw(run helper_bin);
use WidIssue qw(serve_client issuer_conf start_serve stop_serve);

plan skip_all => 'ssh-wid-helper not built (run make)' unless -x helper_bin();
plan skip_all => 'needs root (reads another process\'s memory)' if $> != 0;

# How often needle occurs in the anonymous writable mappings of pid.
sub occurrences {
    my ($pid, $needle) = @_;
    open(my $maps, '<', "/proc/$pid/maps") or return -1;
    open(my $mem, '<:raw', "/proc/$pid/mem") or return -1;
    my $n = 0;
    while (<$maps>) {
        my ($lo, $hi, $perm, $path) =
            /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/ or next;
        next unless $perm =~ /^rw/ && $path !~ m{^/};
        my ($a, $b) = (hex $lo, hex $hi);
        next if $b - $a > 256 * 1024 * 1024;
        sysseek($mem, $a, 0) or next;
        my $buf = '';
        next unless sysread($mem, $buf, $b - $a);
        my $pos = 0;
        while (($pos = index($buf, $needle, $pos)) >= 0) { $n++; $pos++ }
    }
    return $n;
}

my $H = helper_bin();
my $d = tempdir('wid-wipe-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{WID_KEEP});
my ($p, $key, $jwt) = serve_client($d);
my $sock = "$d/s.sock";
my $pid = start_serve(issuer_conf($p, policy => "$d/policy.yaml"), $sock);

my ($rc, undef, $err) = run($H, 'issue', '--socket', $sock, '--pubkey',
                            "$key.pub", '--jwt', "\@$d/jwt.txt", '--out',
                            "$d/cert.pub");
is($rc, 0, 'a certificate issued for a JWT-SVID') or diag($err);
my (undef, $payload, $sig) = split /\./, $jwt;
cmp_ok(occurrences($pid, $sock), '>', 0,
       'control: the daemon\'s memory is readable (its socket path is there)');
is(occurrences($pid, $sig), 0, 'no copy of the token\'s signature is left');
is(occurrences($pid, $payload), 0, '... nor of its payload');
is(stop_serve($pid), 0, 'serve stops cleanly');

done_testing;
