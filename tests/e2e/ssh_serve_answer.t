#!/usr/bin/perl
# The daemon's biggest answers reach the client: a certificate with 200
# principals of 200 characters (its answer carries them twice, about
# 100 KiB) is issued through `issue --socket`, written out, and matches
# the index and the journal.  The client used to refuse answers above
# 64 KiB after the certificate had been signed and recorded.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;
use WidSshd qw(run slurp spew helper_bin make_user_key);
use WidIssue qw(setup_td mint_jwt write_policy issuer_conf start_serve
                stop_serve journal_verify journal_receipts);

plan skip_all => 'ssh-wid-helper not built (run make)' unless -x helper_bin();

my $H = helper_bin();
my $d = tempdir('wid-answer-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{WID_KEEP});
my $p = setup_td($d);
my @pr = map { sprintf('u%03d', $_) . ('x' x 196) } 1 .. 200;
write_policy("$d/policy.yaml", principals => '[' . join(',', @pr) . ']');
my $conf = issuer_conf($p, policy => "$d/policy.yaml");
my $key = make_user_key($d, 'id');
spew("$d/jwt.txt", mint_jwt($p), 0600);
my $sock = "$d/s.sock";
my $pid = start_serve($conf, $sock);

my ($rc, $out, $err) = run($H, 'issue', '--socket', $sock, '--pubkey',
                           "$key.pub", '--jwt', "\@$d/jwt.txt", '--out',
                           "$d/cert.pub");
is($rc, 0, '200 principals of 200 characters through the socket')
    or diag($err);
like($err, qr/allow serial (\d+)/, 'allowed, serial reported');
my ($serial) = $err =~ /allow serial (\d+)/;
($rc, $out) = run('/usr/bin/ssh-keygen', '-L', '-f', "$d/cert.pub");
is($rc, 0, 'ssh-keygen reads the certificate');
is(scalar(() = $out =~ /^\s+u\d{3}x{196}$/mg), 200, '... with all 200 principals');
ok(-s "$d/cert.pub" > 64 * 1024 * 3 / 4, 'the certificate line alone is big');

# --json hands the whole answer over too
($rc, $out, $err) = run($H, 'issue', '--socket', $sock, '--pubkey',
                        "$key.pub", '--jwt', "\@$d/jwt.txt", '--json');
is($rc, 0, 'the same with --json') or diag($err);
my $ans = eval { JSON::PP->new->decode($out) } // {};
ok(length($out) > 64 * 1024, 'an answer above 64 KiB');
is(scalar(@{ $ans->{principals} // [] }), 200, '... listing 200 principals');

is(stop_serve($pid), 0, 'serve stops cleanly');
my @index = grep { length } split /\n/, slurp($p->{index});
is(scalar(@index), 2, 'two certificates indexed, both handed out');
is(JSON::PP->new->decode($index[0])->{serial}, $serial,
   'the first index line is the certificate written');
($rc, $out, $err) = journal_verify($p);
is($rc, 0, 'journal verifies') or diag($out, $err);
is(scalar(grep { $_->{surface} eq 'ssh_issue' } @{ journal_receipts($p) }), 2,
   'one receipt per request');

done_testing();
