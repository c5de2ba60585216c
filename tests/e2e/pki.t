#!/usr/bin/perl
# The test PKI produces what later tests rely on: chains that openssl
# verifies, and the deliberately wrong extensions asked for.
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use Test::More;

my $pki = "$FindBin::Bin/../tools/widpki";
my $d = tempdir(CLEANUP => 1);

sub run { my $out = `@_ 2>&1`; is($?, 0, "@_") or diag $out; $out }
sub text { scalar `openssl x509 -noout -text -in $_[0]` }

run("$pki td $d a.org --intermediates 2");
run("$pki td $d b.org --key rsa2048");
run("$pki leaf $d a.org $d/w --id spiffe://a.org/w");
run("openssl verify -CAfile $d/a.org.pem -untrusted $d/a.org/int1.pem"
    . " -untrusted $d/a.org/int2.pem $d/w.leaf.pem");
my @certs = (`cat $d/w.pem` =~ /BEGIN CERTIFICATE/g);
is(scalar @certs, 3, 'leaf plus two intermediates presented');

# A leaf of a.org signed by b.org does not chain to a.org.
run("$pki leaf $d b.org $d/forged --id spiffe://a.org/w");
isnt(system("openssl verify -CAfile $d/a.org.pem $d/forged.leaf.pem"
            . " >/dev/null 2>&1"), 0, 'cross-domain leaf fails to chain');

run("$pki leaf $d a.org $d/bad --id spiffe://a.org/x --id spiffe://a.org/y"
    . " --ca --ku keyCertSign,cRLSign --not-before=-2d --not-after=-1d"
    . " --key ed25519");
my $t = text("$d/bad.leaf.pem");
like($t, qr/CA:TRUE/, 'cA=true on request');
like($t, qr/Certificate Sign, CRL Sign/, 'keyCertSign and cRLSign');
unlike($t, qr/Digital Signature/, 'no digitalSignature');
like($t, qr{URI:spiffe://a.org/x, URI:spiffe://a.org/y}, 'two URI SANs');
like($t, qr/ED25519/, 'Ed25519 key');

run("$pki leaf $d a.org $d/noku --id spiffe://a.org/z --ku none");
unlike(text("$d/noku.leaf.pem"), qr/Key Usage/, 'no key usage at all');

run("$pki server $d $d/srv --cn localhost");
like(text("$d/srv.pem"), qr/TLS Web Server Authentication/, 'server EKU');
my $mode = (stat "$d/srv.key")[2] & 0777;
is($mode, 0600, 'private keys are 0600');

run("$pki key $d/k --key ed25519");
ok(-s "$d/k.pub", 'bare key pair');

done_testing;
