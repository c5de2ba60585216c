#!/usr/bin/perl
# A bundle directory entry speaks only for the trust domain in its file
# name: a map-shaped b.org.json must never add authorities for a.org
# (the cross-trust-domain rule applied to bundle directories).
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use MIME::Base64 qw(encode_base64);
use Test::More;

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
my $d = tempdir(CLEANUP => 1);

sub slurp { local $/; open my $f, '<', $_[0] or die "$_[0]: $!"; <$f> }
sub spew { open my $f, '>', $_[0] or die "$_[0]: $!"; print $f $_[1]; close $f }
sub run { my $o = `@_ 2>&1`; return ($? >> 8, $o) }

system("/usr/bin/python3 $root/tests/tools/mint-jwt suite $d/jwt >/dev/null") == 0
    or BAIL_OUT('mint-jwt failed');
my $tok = "$d/jwt/tok/kid_other_td.jwt";   # sub a.org, signed by b.org's key
ok(-s $tok, 'token for a.org signed with b.org key');

sub b64 { (my $s = encode_base64($_[0])) =~ s/\n//g; $s }
my $b_jwks = slurp("$d/jwt/b.org.json");

# 1. b.org.json is a map that only names a.org: the directory fails to load.
mkdir "$d/dir1";
spew("$d/dir1/a.org.json", slurp("$d/jwt/a.org.json"));
spew("$d/dir1/b.org.json", '{"a.org": "' . b64($b_jwks) . '"}');
my ($rc, $out) = run("$wid svid verify --bundle $d/dir1 --jwt \@$tok"
                     . " --audience wid-test");
is($rc, 2, 'map without its own trust domain: bundle directory refused');
like($out, qr/bundle\.trust_domain_missing/, 'with its reason code');

# 2. b.org.json maps b.org and also a.org: only its b.org entry counts.
mkdir "$d/dir2";
spew("$d/dir2/a.org.json", slurp("$d/jwt/a.org.json"));
spew("$d/dir2/b.org.json", '{"a.org": "' . b64($b_jwks) . '", "b.org": "'
     . b64($b_jwks) . '"}');
($rc, $out) = run("$wid svid verify --bundle $d/dir2 --jwt \@$tok"
                  . " --audience wid-test");
is($rc, 1, 'b.org.json cannot vouch for an a.org token') or diag $out;
unlike($out, qr/spiffe_id: spiffe:\/\/a\.org/, 'no identity printed');

# Control: the same directory verifies a genuine a.org token.
my ($good) = grep { -s } map { "$d/jwt/tok/$_" } qw(ok_es256.jwt valid_es256.jwt);
SKIP: {
    skip 'no plain valid token in the suite', 1 unless $good;
    ($rc, $out) = run("$wid svid verify --bundle $d/dir2 --jwt \@$good"
                      . " --audience wid-test");
    is($rc, 0, 'a genuine a.org token still verifies') or diag $out;
}

done_testing;
