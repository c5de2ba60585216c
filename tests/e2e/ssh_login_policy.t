#!/usr/bin/perl
# Every ssh_login receipt names the policy in force (its SHA-256 and
# signer) when one is configured, also when the login is refused before
# the rule is looked at: unreadable certificate, sshd's arguments
# disagreeing with it, another CA, expired, revoked, another principal,
# a key id that is not wid's.  Both ways a receipt is written: the
# helper's own writer log and the serve daemon (journal_socket).  A
# policy that does not load is in force nowhere: its receipts name none.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::SHA qw(sha256_hex);
use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;
use WidSshd qw(run slurp spew helper_bin make_ca make_user_key issue);
use WidIssue qw(setup_td mint_jwt write_policy issuer_conf start_serve
                stop_serve journal_verify journal_receipts wid_bin);

plan skip_all => 'ssh-wid-helper not built (run make)' unless -x helper_bin();

my $H = helper_bin();
my $d = tempdir('wid-sshlp-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{WID_KEEP});
my $p = setup_td($d);
my $T = 'ssh-ed25519-cert-v01@openssh.com';
write_policy("$d/policy.yaml", user => 'deploy');
my $hash = sha256_hex(slurp("$d/policy.yaml"));
my $key = make_user_key($d, 'id');
spew("$d/good.jwt", mint_jwt($p));
my $sock = "$d/s.sock";
my $conf = issuer_conf($p, policy => "$d/policy.yaml",
                       extra => "allow_login_uid $<\n");

# A certificate from the daemon, one from another CA, one expired, one
# with an operator's key id; the first one revoked in a second KRL.
my $spid = start_serve($conf, $sock);
my ($rc, $out, $err) = run($H, 'issue', '--socket', $sock, '--pubkey',
                           "$key.pub", '--jwt', "\@$d/good.jwt",
                           '--out', "$d/cert.pub");
is($rc, 0, 'certificate issued through serve') or diag $err;
my (undef, $good) = split ' ', slurp("$d/cert.pub");
my ($serial) = (run('/usr/bin/ssh-keygen', '-L', '-f', "$d/cert.pub"))[1]
               =~ /Serial: (\d+)/;
my $kid = (run('/usr/bin/ssh-keygen', '-L', '-f', "$d/cert.pub"))[1]
          =~ /Key ID: "([^"]+)"/ ? $1 : '';
my ($other_ca) = make_ca($d, 'other_ca');
($rc, undef, $err) = issue(ca_key => $other_ca, pubkey => "$key.pub",
                           principals => ['deploy'], key_id => $kid,
                           out => "$d/other.pub");
die $err if $rc;
my (undef, $foreign_ca) = split ' ', slurp("$d/other.pub");
($rc, undef, $err) = issue(ca_key => $p->{ca_key}, pubkey => "$key.pub",
                           principals => ['deploy'],
                           key_id => 'operator break-glass',
                           out => "$d/op.pub");
die $err if $rc;
my (undef, $operator) = split ' ', slurp("$d/op.pub");
run('/usr/bin/ssh-keygen', '-q', '-k', '-f', "$d/krl", '/dev/null');
spew("$d/revoked.krl", slurp("$d/krl"), 0644);
($rc, undef, $err) = run($H, 'revoke', '--krl', "$d/revoked.krl", '--ca',
                         $p->{ca_pub}, '--serial', $serial);
die $err if $rc;

my $tail = "policy $d/policy.yaml\nrule ssh_e2e\nlog $d/decisions.log\n";
spew("$d/rcpt-login.key", slurp($p->{rcpt_key}), 0600);
my %cfg = (
    daemon => "journal_socket $sock\n",
    own    => "journal $p->{journal}\nreceipt_key $d/rcpt-login.key\n",
);
sub login_conf {
    my ($how, %o) = @_;
    my $path = "$d/login-$how-" . ($o{krl} ? 'revoked' : 'plain')
             . ($o{signed} ? '-signed' : '') . '.conf';
    spew($path, "ca_pubkey $p->{ca_pub}\nkrl " . ($o{krl} // "$d/krl")
         . "\n$tail" . $cfg{$how} . ($o{signed}
                                     ? "policy_signer $d/signer.pub\n" : ''),
         0644);
    return $path;
}
sub principals {
    my ($cfg, %o) = @_;
    my @a = ($H, 'principals', '--config', $cfg, '--user', $o{user} // 'deploy',
             '--type', $T, '--cert', $o{cert} // $good);
    push @a, '--serial', $o{serial} if defined $o{serial};
    return run(@a);
}
sub last_receipt {
    my $l = decode_json((split /\n/, slurp("$d/decisions.log"))[-1]);
    my ($r) = grep { $_->{id} eq ($l->{receipt} // '') }
              @{ journal_receipts($p) };
    return $r;
}

my @refusals = (
    [ 'certificate does not parse', { cert => 'AAAA!!!!' },
      'ssh.cert_malformed' ],
    [ '%s disagrees with the certificate', { serial => $serial + 1 },
      'ssh.arg_mismatch' ],
    [ 'another CA', { cert => $foreign_ca }, 'ssh.cert_wrong_ca' ],
    [ 'revoked', { krl => "$d/revoked.krl" }, 'ssh.cert_revoked' ],
    [ 'another principal', { user => 'root' }, 'ssh.principal_mismatch' ],
    [ 'operator key id', { cert => $operator }, 'ssh.key_id_foreign' ],
    [ 'allowed', {}, 'ok' ],
);
for my $how (qw(daemon own)) {
    for my $t (@refusals) {
        my ($name, $o, $reason) = @$t;
        ($rc) = principals(login_conf($how, krl => $o->{krl}), %$o);
        is($rc, $reason eq 'ok' ? 0 : 1, "$how: $name: "
           . ($reason eq 'ok' ? 'allowed' : 'refused'));
        my $r = last_receipt();
        is($r && $r->{reason}, $reason, "... $reason on its receipt");
        is($r && $r->{policy}{hash}, $hash,
           '... which names the policy in force');
        is($r && $r->{policy}{signer}, 'unsigned', '... unsigned');
    }
}

# Expired: a certificate whose lifetime ran out (ttl 1 s, backdated).
($rc, undef, $err) = run($H, 'issue', '--socket', $sock, '--pubkey',
                         "$key.pub", '--jwt', "\@$d/good.jwt", '--ttl', 1,
                         '--out', "$d/short.pub");
is($rc, 0, 'a one-second certificate') or diag $err;
sleep 2;
my (undef, $short) = split ' ', slurp("$d/short.pub");
($rc) = principals(login_conf('daemon'), cert => $short);
my $r = last_receipt();
is($r && $r->{reason}, 'ssh.cert_expired', 'expired: refused');
is($r && $r->{policy}{hash}, $hash, '... its receipt names the policy');

# A signed policy: the signer is named too, on a refusal before the rule.
($rc, undef, $err) = run(wid_bin(), 'keygen', '--out', "$d/signer");
die $err if $rc;
($rc, undef, $err) = run(wid_bin(), 'policy', 'sign', "$d/policy.yaml",
                         '--key', "$d/signer.key");
is($rc, 0, 'policy signed') or diag $err;
for my $how (qw(daemon own)) {
    ($rc) = principals(login_conf($how, signed => 1), user => 'root');
    $r = last_receipt();
    is($r && $r->{reason}, 'ssh.principal_mismatch',
       "$how, signed policy: refused before the rule");
    is($r && $r->{policy}{hash}, $hash, '... names the policy');
    like($r && $r->{policy}{signer} // '', qr/^ed25519:[0-9a-f]+$/,
         '... and its signer');
}

# A policy that does not load (signature no longer matches) is in force
# nowhere: the login is refused with its code, the receipt names none.
spew("$d/policy.yaml", slurp("$d/policy.yaml") . "# edited\n", 0644);
for my $how (qw(daemon own)) {
    ($rc) = principals(login_conf($how, signed => 1));
    is($rc, 1, "$how: policy no longer verifies: refused");
    $r = last_receipt();
    like($r && $r->{reason} // '', qr/^policy\./, '... with a policy code');
    ok($r && !defined $r->{policy}{hash}, '... and no policy named');
    ($rc) = principals(login_conf($how, signed => 1), user => 'root');
    $r = last_receipt();
    is($r && $r->{reason}, 'ssh.principal_mismatch',
       '... refused earlier: the earlier reason');
    ok($r && !defined $r->{policy}{hash}, '... still no policy named');
}

is(stop_serve($spid), 0, 'serve stops');
($rc, $out, $err) = journal_verify($p);
is($rc, 0, 'the journal verifies') or diag($out, $err);

done_testing();
