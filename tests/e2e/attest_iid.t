#!/usr/bin/perl
# AWS instance identity documents: pinned-certificate PKCS#7, the embedded
# attacker certificate attack, content mismatch, first-use replay record;
# then node registration and the signed attestation result (verifier
# bridge) with its consumer-side checks.
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use JSON::PP;
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
my $d = tempdir(CLEANUP => 1);

sub sh { my $o = `@_ 2>&1`; return ($? >> 8, $o) }
sub must { my ($rc, $o) = sh(@_); die "failed: @_\n$o" if $rc; $o }
sub slurp { local $/; open my $f, '<', $_[0] or die "$_[0]: $!"; <$f> }
sub spew { open my $f, '>', $_[0] or die; print $f $_[1]; close $f }

# A stand-in for AWS's regional signing certificate, and an attacker's.
for my $who (qw(aws attacker)) {
    must("openssl req -x509 -newkey rsa:2048 -nodes -keyout $d/$who.key"
         . " -out $d/$who.pem -subj /CN=$who -days 2");
}

my $n = 0;
sub iid {
    my (%o) = @_;
    $n++;
    my $id = $o{instance} // 'i-0abc123def4567890';
    my $doc = $o{doc} // qq({"accountId":"123456789012","instanceId":"$id",)
        . qq("region":"eu-west-1","availabilityZone":"eu-west-1a",)
        . qq("imageId":"ami-0123456789abcdef0","instanceType":"t3.micro",)
        . qq("pendingTime":"2026-11-23T01:00:00Z"});
    my $signer = $o{signer} // 'aws';
    spew("$d/doc$n.json", $doc);
    must("openssl smime -sign -binary -nodetach -md sha256 -in $d/doc$n.json"
         . " -signer $d/$signer.pem -inkey $d/$signer.key -outform DER"
         . " -out $d/doc$n.p7");
    my $p7 = encode_base64(slurp("$d/doc$n.p7"), '');
    my $sent = $o{sent_doc} // $doc;
    spew("$d/ev$n.json", encode_json({ document => $sent, pkcs7 => $p7 }));
    return "$d/ev$n.json";
}

my $st = "$d/state";
sub verify {
    my ($ev, $extra) = @_;
    return sh("$wid attest verify --kind aws_iid --evidence $ev"
              . " --aws-cert $d/aws.pem --state $st " . ($extra // ''));
}

# A FIFO as the pinned certificate is refused at once, not waited on.
system('mkfifo', "$d/fifo.pem") == 0 or die 'mkfifo';
my ($rc, $out) = sh("timeout 10 $wid attest verify --kind aws_iid"
                    . " --evidence " . iid(instance => 'i-fifo')
                    . " --aws-cert $d/fifo.pem --state $st");
is($rc, 2, '--aws-cert FIFO: refused at once (exit 2)');
like($out, qr/attest\.config_invalid/, '... attest.config_invalid');

($rc, $out) = verify(iid());
is($rc, 0, 'document signed by the pinned certificate: verified');
my $a = eval { decode_json($out) } || {};
is($a->{kind}, 'aws_iid', 'kind aws_iid');
is($a->{subject}, 'aws:123456789012:i-0abc123def4567890', 'subject');
ok((grep { $_->{type} eq 'aws_iid' && $_->{value} eq 'region:eu-west-1' }
    @{$a->{selectors}}), 'region selector');

($rc, $out) = verify(iid());
is($rc, 1, 'second use of the same instance: refused');
like($out, qr/attest\.iid_replayed/, '... replay (first use recorded)');
ok(-e "$st/aws_iid/i-0abc123def4567890", 'first use is on disk');

# The attack: the attacker signs their own document and embeds their own
# certificate in the PKCS#7.  OpenSSL's default lookup would use it.
my $attack = iid(instance => 'i-0aaaaaaaaaaaaaaa1', signer => 'attacker');
($rc, $out) = sh("openssl smime -verify -noverify -binary -inform DER"
    . " -in $d/doc$n.p7 -certfile $d/aws.pem -out /dev/null");
is($rc, 0, '(the pitfall: openssl smime -certfile accepts the attack)');
($rc, $out) = verify($attack);
is($rc, 1, 'embedded attacker certificate: refused');
like($out, qr/attest\.iid_bad_signature/, '... bad signature');

($rc, $out) = verify(iid(instance => 'i-0bbbbbbbbbbbbbbb2',
    sent_doc => '{"accountId":"999999999999","instanceId":"i-0bbbbbbbbbbbbbbb2",'
              . '"region":"eu-west-1"}'));
is($rc, 1, 'signed content differs from the document sent: refused');
like($out, qr/attest\.iid_content_mismatch/, '... content mismatch');

spew("$d/junk.json", '{"document":"x","pkcs7":"!!"}');
($rc, $out) = verify("$d/junk.json");
like($out, qr/attest\.evidence_malformed/, 'garbage: malformed');
($rc, $out) = sh("$wid attest verify --kind aws_iid --evidence $d/junk.json");
is($rc, 2, 'no pinned certificate configured: operational error (2)');

# --- registration and the signed result --------------------------------
must("$wid keygen --out $d/verifier");
must("$wid keygen --out $d/other");
spew("$d/entries.json", encode_json({
    nodes => [
        { id => 'spiffe://example.org/node/eu', tier => 'verified',
          selectors => ['aws_iid:account:123456789012',
                        'aws_iid:region:eu-west-1'] },
        { id => 'spiffe://example.org/node/us',
          selectors => ['aws_iid:region:us-east-1'] },
    ],
    workloads => [
        { id => 'spiffe://example.org/app', parent =>
          'spiffe://example.org/node/eu', selectors => ['unix:uid:1000'] },
    ],
}));

($rc, $out) = verify(iid(instance => 'i-0ccccccccccccccc3'),
    "--entries $d/entries.json --sign-key $d/verifier.key"
    . " --verifier https://verifier.example.org");
is($rc, 0, 'node matched by subset of selectors; result signed');
$a = eval { decode_json($out) } || {};
is($a->{spiffeId}, 'spiffe://example.org/node/eu', 'node SPIFFE ID bound');
is($a->{tier}, 'verified', 'entry tier');
my $jws = $a->{result} // '';
like($jws, qr/^[\w-]+\.[\w-]+\.[\w-]+$/, 'compact JWS');
spew("$d/result.jws", $jws);
my ($h, $p) = map { decode_json(decode_base64(tr/-_/+\//r
                    . '=' x ((4 - length() % 4) % 4))) } (split /\./, $jws)[0, 1];
is($h->{alg}, 'EdDSA', 'header alg EdDSA');
is($p->{schema}, 'wid.attestation-result.v1', 'payload schema');
is($p->{verifier}, 'https://verifier.example.org', 'payload verifier');
is($p->{attestationType}, 'aws_iid', 'payload attestation type');
is($p->{workloadIdentity}{uri}, 'spiffe://example.org/node/eu',
   'payload workloadIdentity');
is($p->{workloadIdentity}{trustDomain}, 'example.org', '... trust domain');
like($p->{evidenceSha256}, qr/^[0-9a-f]{64}$/, 'payload evidence hash');
ok($p->{expiresAt} > $p->{issuedAt}, 'payload window');

($rc, $out) = sh("$wid attest result verify \@$d/result.jws"
                 . " --pubkey $d/verifier.pub"
                 . " --spiffe-id spiffe://example.org/node/eu");
is($rc, 0, 'result verifies with the trusted key, same identity');

($rc, $out) = sh("$wid attest result verify \@$d/result.jws"
                 . " --pubkey $d/verifier.pub"
                 . " --spiffe-id spiffe://example.org/node/us");
is($rc, 1, 'result for another SPIFFE ID: refused');
like($out, qr/attest\.identity_conflict/, '... identity conflict');

($rc, $out) = sh("$wid attest result verify \@$d/result.jws"
                 . " --pubkey $d/other.pub");
is($rc, 1, 'result signed by a key not trusted: refused');
like($out, qr/attest\.untrusted_verifier/, '... untrusted verifier');

($rc, $out) = sh("$wid attest result verify \@$d/result.jws"
                 . " --pubkey $d/verifier.pub --now " . (time + 3600));
like($out, qr/attest\.evidence_stale/, 'expired result: refused');
($rc, $out) = sh("$wid attest result verify \@$d/result.jws"
                 . " --pubkey $d/verifier.pub --max-age 5 --now "
                 . (time + 60));
like($out, qr/attest\.evidence_stale/, 'older than max age: refused');

my @parts = split /\./, $jws;
my $forged = encode_base64(encode_json({ %$p,
    workloadIdentity => { %{$p->{workloadIdentity}},
                          uri => 'spiffe://example.org/node/us' } }), '');
$forged =~ tr/+\//-_/;
$forged =~ s/=+$//;
($rc, $out) = sh("$wid attest result verify $parts[0].$forged.$parts[2]"
                 . " --pubkey $d/verifier.pub");
like($out, qr/attest\.result_bad_signature/,
     'payload altered after signing: refused');

my $unmatched = iid(instance => 'i-0ddddddddddddddd4',
    doc => '{"accountId":"123456789012","instanceId":"i-0ddddddddddddddd4",'
         . '"region":"ap-south-1"}');
($rc, $out) = verify($unmatched, "--entries $d/entries.json");
is($rc, 1, 'node matching no entry: refused');
like($out, qr/attest\.no_registration_match/, '... no registration match');
# A refused verification does not spend the document's single use.
($rc, $out) = verify($unmatched,
                     '--spiffe-id spiffe://example.org/node/south');
is($rc, 0, '... the same document, bound by the operator, verifies')
    or diag $out;
($rc, $out) = verify($unmatched,
                     '--spiffe-id spiffe://example.org/node/south');
like($out, qr/attest\.iid_replayed/, '... once');

($rc, $out) = verify(iid(instance => 'i-0eeeeeeeeeeeeeee5'),
    "--sign-key $d/verifier.key");
is($rc, 2, 'signing with no bound identity: usage error');

done_testing;
