#!/usr/bin/perl
# `make demo` (mk/demo.sh) end to end, without rebuilding: the demo runs
# stock nginx with the module, prints the decisions a newcomer should see,
# leaves a journal that verifies, stops nginx, and fails (exit 1) when the
# decisions are not the expected ones.  Rerunning starts from scratch.
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time);

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
my $demo = "$root/mk/demo.sh";

plan skip_all => 'no /usr/sbin/nginx' unless -x '/usr/sbin/nginx';
BAIL_OUT("module not built (run make)")
    unless -f "$root/build/nginx/ngx_http_wid_module.so";

my $tmp = tempdir(CLEANUP => 1);
chmod 0755, $tmp;     # the SSH part's principals command runs as nobody
my $dir = "$tmp/demo";

sub run_demo {
    my (%env) = @_;
    local $ENV{NO_COLOR} = 1;
    local @ENV{keys %env} = values %env;
    my $t0 = time;
    my $out = `'$demo' --no-build '$dir' 2>&1`;
    return ($? >> 8, $out, time - $t0);
}

sub nginx_running {
    # Any process still serving from the demo's nginx prefix.
    for my $cmdline (glob '/proc/[0-9]*/cmdline') {
        open my $f, '<', $cmdline or next;
        local $/;
        my $c = <$f> // '';
        return 1 if $c =~ /\Q$dir\E\/nginx\//;
    }
    return 0;
}

# ---- a normal run ------------------------------------------------------

my ($rc, $out, $secs) = run_demo();
is($rc, 0, 'the demo exits 0') or diag($out);
cmp_ok($secs, '<', 20, sprintf('and runs in under 20 s (%.1f s)', $secs));

my $ws = qr/[ \t]+/;
like($out, qr/^  web X\.509 GET${ws}200${ws}ok${ws}spiffe:\/\/demo\.example\/frontend\/web${ws}wr1-[0-9a-f]{8}/m,
     'X.509-SVID of the allowed workload: 200, its ID, a receipt');
like($out, qr/^  web JWT GET${ws}200${ws}ok${ws}spiffe:\/\/demo\.example\/frontend\/web${ws}wr1-/m,
     'JWT-SVID of the allowed workload: 200');
like($out, qr/^  web JWT DELETE${ws}403${ws}policy\.operation_denied${ws}spiffe:\/\/demo\.example\/frontend\/web/m,
     'DELETE is denied by policy: 403');
like($out, qr/^  batch X\.509 GET${ws}403${ws}policy\.path_prefix${ws}spiffe:\/\/demo\.example\/batch\/report/m,
     'the other workload is denied by policy: 403');
like($out, qr/^  nobody GET${ws}401${ws}policy\.identity_missing${ws}-${ws}wr1-/m,
     'no credential: 401, still a receipt');
like($out, qr/^  forged X\.509 GET${ws}401${ws}x509\.trust_domain_mismatch${ws}-${ws}wr1-/m,
     'X.509 cross-trust-domain forgery: 401, no identity');
like($out, qr/^  forged JWT GET${ws}401${ws}jwt\.kid_unknown${ws}-${ws}wr1-/m,
     'JWT cross-trust-domain forgery: 401, no identity');
like($out, qr/WWW-Authenticate: Bearer realm="wid"/, 'the 401 challenge shown');
like($out, qr/journal OK: 2 writer\(s\), 7 receipt\(s\), 0 warning\(s\)/,
     'wid journal verify: one receipt per request');
like($out, qr/^  wid receipt verify proof\.json .*verified: in /m,
     'the exported receipt verifies offline');
like($out, qr/deny -> allow.*rejected: receipt\.not_included/,
     'a tampered proof is rejected with a reason code');
like($out, qr/^    ssh:      logged in as \S+; login decision: allow ok wr1-/m,
     'SSH: the allowed workload gets a certificate and logs in');
like($out, qr/^    issuance: deny policy\.path_prefix receipt wr1-/m,
     'SSH: the other workload is refused a certificate');
like($out, qr/^demo: all \d+ checks behaved as expected\./m, 'final verdict');
unlike($out, qr/UNEXPECTED/, 'nothing unexpected');
my @lines = split /\n/, $out;
cmp_ok(scalar @lines, '<=', 60, 'one screen: ' . scalar(@lines) . ' lines');

# What it leaves for inspection, checked independently of its output.
ok(-f "$dir/$_", "leaves $_")
    for qw(receipt.pub policy.yaml pki/demo.example.pem
           pki/demo.example.jwt.json pki/web.pem proof.json
           nginx/nginx.conf nginx/logs/error.log);
ok(!nginx_running(), 'nginx is stopped');
is(system("'$wid' journal verify '$dir/journal' --pubkey '$dir/receipt.pub'"
          . " >/dev/null 2>&1") >> 8, 0, 'the journal verifies');
is(system("'$wid' receipt verify '$dir/proof.json' --pubkey"
          . " '$dir/receipt.pub' >/dev/null 2>&1") >> 8, 0,
   'the proof verifies');
my @r = map { decode_json($_) } grep { /^\{/ }
    split /\n/, `'$wid' journal query '$dir/journal' --json`;
is(scalar @r, 7, 'seven receipts');
is(scalar(grep { $_->{verdict} eq 'allow' } @r), 2, 'two allowed');
is(join(',', sort map { $_->{reason} } grep { $_->{verdict} eq 'deny' } @r),
   'jwt.kid_unknown,policy.identity_missing,policy.operation_denied,'
   . 'policy.path_prefix,x509.trust_domain_mismatch', 'five denied, why');
ok(!grep({ ($_->{identity}{spiffe_id} // '') ne '' && $_->{verdict} eq 'deny'
           && $_->{reason} =~ /^(x509|jwt)\./ } @r),
   'no forged identity recorded as verified');

# ---- a rerun with a policy that lets everyone in: the demo notices -------

open my $m, '>', "$dir/marker" or die;
close $m;
my $open = "$tmp/open.yaml";
open my $p, '>', $open or die;
print $p "version: 1\nrules:\n  orders_api:\n    default: allow\n";
close $p;

($rc, $out) = run_demo(WID_DEMO_POLICY => $open);
is($rc, 1, 'a policy that admits everyone fails the demo (exit 1)');
like($out, qr/^  batch X\.509 GET${ws}200${ws}ok.*\n  UNEXPECTED: expected 403 policy\.path_prefix/m,
     'and says which decision changed');
like($out, qr/^  forged X\.509 GET${ws}401${ws}x509\.trust_domain_mismatch/m,
     'forgeries stay refused whatever the policy');
like($out, qr/^demo: \d+ of \d+ checks did not behave as expected/m,
     'final verdict names the failures');
ok(!-e "$dir/marker", 'a rerun starts from a clean directory');
ok(!nginx_running(), 'nginx is stopped after a failing run too');
@r = grep { /^\{/ } split /\n/, `'$wid' journal query '$dir/journal' --json`;
is(scalar @r, 7, 'only the rerun\'s receipts');

# ---- usage --------------------------------------------------------------

is(system("'$demo' --bogus >/dev/null 2>&1") >> 8, 2, 'usage error: exit 2');

# A directory the demo did not make is never wiped.
mkdir "$tmp/mine" or die;
open my $k, '>', "$tmp/mine/keep" or die;
close $k;
is(system("'$demo' --no-build '$tmp/mine' >/dev/null 2>&1") >> 8, 2,
   'refuses to reuse a directory it did not make (exit 2)');
ok(-e "$tmp/mine/keep", 'and leaves its files alone');

done_testing();
