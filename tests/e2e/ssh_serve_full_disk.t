#!/usr/bin/perl
# The serve daemon on a full disk (journal_fsync interval): it refuses
# to issue while its receipts cannot be written, keeps running, and
# issues again by itself once space returns; every certificate handed
# out has its receipt.  Before, the first failed write threw buffered
# receipts away and closed the journal, and the daemon stopped.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use Time::HiRes qw(sleep);
use WidSshd qw(run slurp helper_bin);
use WidFiles qw(mount_tmpfs);
use WidIssue qw(serve_client issuer_conf start_serve stop_serve
                journal_verify journal_receipts);

plan skip_all => 'ssh-wid-helper not built (run make)' unless -x helper_bin();
plan skip_all => 'needs root (mounts a small tmpfs)' if $> != 0;

my $H = helper_bin();
my $d = tempdir('wid-full-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{WID_KEEP});
my $mnt = "$d/mnt";
mount_tmpfs($mnt, 'size=1m') or plan skip_all => 'cannot mount a tmpfs here';

my ($p, $key) = serve_client($d);
$p->{journal} = "$mnt/journal";
my $conf = issuer_conf($p, policy => "$d/policy.yaml",
                       extra => "journal_fsync interval\n");
my $sock = "$d/s.sock";
my $pid = start_serve($conf, $sock);

my @serials;       # of every certificate handed out
sub issue {
    my ($rc, undef, $err) = run($H, 'issue', '--socket', $sock, '--pubkey',
                                "$key.pub", '--jwt', "\@$d/jwt.txt",
                                '--out', "$d/cert.pub");
    push @serials, $1 if $rc == 0 && $err =~ /allow serial (\d+)/;
    return ($rc, $err);
}

my $issued = 0;
my ($rc, $err) = issue();
is($rc, 0, 'issued while there is space') or diag($err);
$issued++ if $rc == 0;

# Fill the disk, then wait for the daemon's tick to meet it.
open(my $fh, '>', "$mnt/fill") or die "fill: $!";
{
    my $block = "\0" x 65536;
    1 while syswrite($fh, $block);
}
close($fh);
# The segment's last page still takes a few receipts; then a tick fails.
my $refused = 0;
for (1 .. 40) {
    sleep(0.25);
    ($rc, $err) = issue();
    $issued++ if $rc == 0;
    if ($rc != 0) { $refused = 1; last }
}
ok($refused, 'the disk full: issuance refused') or diag($err);
ok(kill(0, $pid), '... and the daemon keeps running');

unlink("$mnt/fill");
my $back;
for (1 .. 20) {
    sleep(0.25);
    ($rc, $err) = issue();
    if ($rc == 0) { $issued++; $back = 1; last }
}
ok($back, 'space again: the daemon issues by itself') or diag($err);

is(stop_serve($pid), 0, 'serve stops cleanly');
like(slurp("$sock.log"), qr/refused until it can be written.*written again/s,
     'the outage is said when it starts and when it ends');
($rc, my $out) = journal_verify($p);
is($rc, 0, 'the journal verifies') or diag($out);
# A certificate signed but not handed out (its index line did not fit)
# also has its allow receipt; every one handed out must have one.
my %recorded = map { ($_->{ssh}{serial} // '') => 1 }
    grep { $_->{surface} eq 'ssh_issue' && $_->{verdict} eq 'allow' }
    @{ journal_receipts($p) };
is(scalar(@serials), $issued, 'each certificate handed out named its serial');
is(scalar(grep { !$recorded{$_} } @serials), 0,
   'every certificate handed out has its allow receipt');

done_testing;
