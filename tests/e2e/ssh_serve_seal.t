#!/usr/bin/perl
# A starting `ssh-wid-helper serve` seals the journal logs of helper
# processes that died without closing theirs (sshd kills a principals
# command that runs past its timeout): their unsigned records are adopted
# and signed, so `wid journal verify` passes without --allow-unsigned-tail.
# Logs of other writers (nginx-*) are not its business.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;
use WidSshd qw(run slurp helper_bin);
use WidIssue qw(setup_td write_policy issuer_conf start_serve stop_serve
                journal_verify wid_bin);

plan skip_all => 'ssh-wid-helper not built (run make)' unless -x helper_bin();

my $d = tempdir('wid-sshseal-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{WID_KEEP});
my $p = setup_td($d);
write_policy("$d/policy.yaml", user => 'deploy');
my $J = $p->{journal};
mkdir $J;

# A writer that appends n receipts with the receipt key, then is killed
# with SIGKILL before it could sign them.
sub killed {
    my ($name, $n) = @_;
    pipe(my $in_r, my $in_w) or die;
    pipe(my $out_r, my $out_w) or die;
    my $pid = fork() // die;
    if ($pid == 0) {
        close $in_w; close $out_r;
        open STDIN, '<&', $in_r or die;
        open STDOUT, '>&', $out_w or die;
        open STDERR, '>', '/dev/null';
        exec wid_bin(), 'journal', 'append', $J, '--key', $p->{rcpt_key},
             '--writer', $name, '--fsync', 'always';
        exit 127;
    }
    close $in_r; close $out_w;
    $in_w->autoflush(1);
    for my $i (1 .. $n) {
        print $in_w encode_json({
            surface => 'ssh_login', verdict => 'allow', reason => 'ok',
            rule => 'ssh_e2e', operation => 'login',
            identity => { spiffe_id => "spiffe://a.org/w/$i",
                          trust_domain => 'a.org' } }) . "\n";
    }
    my $got = 0;
    $got++ while $got < $n && defined(<$out_r>);
    die "writer $name: $got of $n appended" unless $got == $n;
    kill 'KILL', $pid;
    waitpid($pid, 0);
    close $in_w; close $out_r;
}

killed('ssh-principals-4242-1', 3);
killed('nginx-4243-1', 2);
my ($rc, $out, $err) = journal_verify($p);
isnt($rc, 0, 'before: the killed helper\'s log has an unsigned tail');
like($out . $err, qr/ssh-principals-4242-1.*journal\.unsigned_tail/,
     '... named by verify');

my $sock = "$d/s.sock";
my $conf = issuer_conf($p, policy => "$d/policy.yaml");
my $spid = start_serve($conf, $sock);
is(stop_serve($spid), 0, 'serve started and stopped');
my $log = slurp("$sock.log");
like($log, qr/sealed journal log of a stopped process ssh-principals-4242-1: adopted 3 records/,
     'serve sealed the killed helper\'s log at start, 3 records adopted');
ok(-e "$J/ssh-principals-4242-1/closed", '... and marked it closed');
unlike($log, qr/nginx-4243-1/, 'an nginx worker\'s log is left alone');
ok(!-e "$J/nginx-4243-1/closed", '... not marked');

# Without the nginx log, everything verifies with no flag.
system('rm', '-rf', "$J/nginx-4243-1") == 0 or die;
($rc, $out, $err) = journal_verify($p);
is($rc, 0, 'after: the journal verifies without --allow-unsigned-tail')
    or diag $out, $err;
like($out . $err, qr/journal\.recovered_unsigned/,
     '... and reports the adoption');

# A second start has nothing to seal.
$spid = start_serve($conf, $sock);
is(stop_serve($spid), 0, 'serve started again');
my @sealed = slurp("$sock.log") =~ /sealed journal log/g;
is(scalar @sealed, 1, '... and sealed nothing more');

done_testing;
