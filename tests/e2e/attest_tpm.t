#!/usr/bin/perl
# TPM 2.0 node attestation end to end: a software TPM (swtpm, started
# here on loopback, no root) with a manufacturer-issued EK certificate,
# AKs made by tpm2-tools, `wid attest challenge` / `wid attest verify`.
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use JSON::PP;
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
my $tpm = "$root/tests/tools/widtpm";

for my $t (qw(swtpm swtpm_setup tpm2_quote)) {
    plan skip_all => "$t not installed"
        unless grep { -x "$_/$t" } split(/:/, $ENV{PATH});
}

my $d = tempdir(CLEANUP => 1);
my $n = "$d/node";
our $st = "$d/state";

sub sh { my $o = `@_ 2>&1`; return ($? >> 8, $o) }
sub must { my ($rc, $o) = sh(@_); die "failed: @_\n$o" if $rc; $o }
sub slurp { local $/; open my $f, '<', $_[0] or die "$_[0]: $!"; <$f> }
sub spew { open my $f, '>', $_[0] or die; print $f $_[1]; close $f }

must("$tpm setup $n");
must("$tpm start $n");
END { system("$tpm stop $n >/dev/null 2>&1") if $n }
must("$tpm ak $n ak 0x81010002");
must("$tpm ak $n ak2 0x81010003 ecc");

my $seq = 0;
our $roots = "--roots $n/roots.pem";

# Round 1 for the AK public file given; returns the challenge file.
sub challenge {
    my (%o) = @_;
    my $ak = $o{ak_pub} // "$n/ak.pub";
    my $extra = $o{extra} // '';
    $seq++;
    system("$wid attest challenge --kind tpm --state $st"
        . " $roots --ek-cert $n/ek.der --ek-chain $n/ekchain.pem"
        . " --ak-public $ak --cred-out $d/cred$seq $extra"
        . " > $d/ch$seq.json 2> $d/ch$seq.err");
    return ($? >> 8, "$d/ch$seq.json", "$d/cred$seq", slurp("$d/ch$seq.err"));
}

# The node's answer (activation + quote) as an evidence file.
sub answer {
    my ($ch, $cred, $args) = @_;
    my $ev = "$ch.ev";
    must("$tpm answer $n --challenge $ch --cred $cred --out $ev "
         . ($args // ''));
    return $ev;
}

sub verify {
    my ($ev, $extra) = @_;
    return sh("$wid attest verify --kind tpm --evidence $ev --state $st"
              . " $roots " . ($extra // ''));
}

sub edit_ev {
    my ($ev, $fn) = @_;
    my $j = decode_json(slurp($ev));
    $fn->($j);
    my $out = "$ev.edited";
    spew($out, encode_json($j));
    return $out;
}

sub fresh_ev {
    my ($rc, $ch, $cred) = challenge(@_);
    die "challenge failed" if $rc;
    return ($ch, $cred, answer($ch, $cred));
}

# --- the right nonce: verified ----------------------------------------
my ($ch, $cred, $ev) = fresh_ev();
my ($rc, $out) = verify($ev);
is($rc, 0, 'right nonce, activated AK, trusted EK: verified');
my $a = eval { decode_json($out) } || {};
is($a->{kind}, 'tpm', 'normalized attestation: kind tpm');
is($a->{attestationType}, 'tpm_quote', 'attestation type tpm_quote');
like($a->{subject}, qr/^ek:[0-9a-f]{64}$/, 'subject names the EK');
like($a->{evidenceSha256}, qr/^[0-9a-f]{64}$/, 'evidence hash');
ok($a->{expiresAt} > $a->{issuedAt}, 'validity window');
ok((grep { $_->{value} =~ /^pcr:sha256:7:/ } @{$a->{selectors}}),
   'quoted PCRs become selectors');
my $first_ev = $ev;

# An ECDSA P-256 AK works the same way.
(undef, $ch, $cred) = challenge(ak_pub => "$n/ak2.pub");
$ev = answer($ch, $cred, "--ak 0x81010003 --ak-pub $n/ak2.pub");
($rc, $out) = verify($ev);
is($rc, 0, 'ECDSA AK: verified') or diag($out);

# --- replays ------------------------------------------------------------
($rc, $out) = verify($first_ev);
is($rc, 1, 'the same answer twice: refused');
like($out, qr/attest\.challenge_unknown/, '... challenge already used');

# An old quote (and signature) replayed into the answer to a new challenge.
($ch, $cred, $ev) = fresh_ev();
my $old = decode_json(slurp($first_ev));
my $replay = edit_ev($ev, sub { $_[0]{quote} = $old->{quote};
                                $_[0]{signature} = $old->{signature} });
($rc, $out) = verify($replay);
is($rc, 1, 'replayed quote: refused');
like($out, qr/attest\.tpm_nonce_mismatch/, '... nonce mismatch');

# --- wrong nonce ---------------------------------------------------------
(undef, $ch, $cred) = challenge();
$ev = answer($ch, $cred, '--nonce ' . ('5a' x 32));
($rc, $out) = verify($ev);
is($rc, 1, 'quote over a wrong nonce: refused');
like($out, qr/attest\.tpm_nonce_mismatch/, '... nonce mismatch');

# A nonce that merely contains the right one is not the right one.
(undef, $ch, $cred) = challenge();
my $right = decode_json(slurp($ch))->{nonce};
$ev = answer($ch, $cred, "--nonce ${right}00");
($rc, $out) = verify($ev);
like($out, qr/attest\.tpm_nonce_mismatch/, 'nonce plus a suffix: refused');

# --- PCRs ----------------------------------------------------------------
($ch, $cred, $ev) = fresh_ev();
my $tampered = edit_ev($ev, sub { $_[0]{pcrs}{sha256}{7} = 'ab' x 32 });
($rc, $out) = verify($tampered);
is($rc, 1, 'PCR value differing from the quoted digest: refused');
like($out, qr/attest\.tpm_pcr_digest_mismatch/, '... digest mismatch');

($ch, $cred, $ev) = fresh_ev();
my $extra = edit_ev($ev, sub { $_[0]{pcrs}{sha256}{9} = '00' x 32 });
($rc, $out) = verify($extra);
like($out, qr/attest\.tpm_pcr_values_mismatch/,
     'a PCR value outside the quote: refused');

my $zero = '00' x 32;
spew("$d/policy7.json", qq({"sha256":{"7":"$zero"}}));
spew("$d/policy9.json", qq({"sha256":{"9":"$zero"}}));
($ch, $cred, $ev) = fresh_ev();
($rc, $out) = verify($ev, "--pcr-policy $d/policy9.json");
like($out, qr/attest\.tpm_pcr_not_covered/,
     'PCR policy naming a PCR the quote does not cover: refused');

must("$tpm extend $n 7");
($ch, $cred, $ev) = fresh_ev();
($rc, $out) = verify($ev, "--pcr-policy $d/policy7.json");
is($rc, 1, 'PCR 7 changed against the PCR policy: refused');
like($out, qr/attest\.tpm_pcr_policy_mismatch/, '... policy mismatch');

# --- foreign AK ----------------------------------------------------------
# Challenge for AK 1, but the quote is made (and sent) with another AK.
(undef, $ch, $cred) = challenge();
$ev = answer($ch, $cred, "--ak 0x81010003 --ak-pub $n/ak2.pub"
                         . " --activate-ak 0x81010002");
($rc, $out) = verify($ev);
is($rc, 1, 'quote by an AK other than the activated one: refused');
like($out, qr/attest\.tpm_ak_not_activated/, '... not activated');

# Challenge for AK 2 that the TPM cannot activate with AK 1 (the impostor
# has no secret to return).
(undef, $ch, $cred) = challenge(ak_pub => "$n/ak2.pub");
$ev = answer($ch, $cred, "--ak 0x81010003 --ak-pub $n/ak2.pub"
                         . " --activate-ak 0x81010002");
($rc, $out) = verify($ev);
like($out, qr/attest\.tpm_ak_not_activated/,
     'credential not activated (wrong secret): refused');

# --- signatures, structure, EK trust, AK attributes ---------------------
($ch, $cred, $ev) = fresh_ev();
my $badsig = edit_ev($ev, sub {
    my $s = decode_base64($_[0]{signature});
    substr($s, 20, 1) = chr(ord(substr($s, 20, 1)) ^ 1);
    $_[0]{signature} = encode_base64($s, '');
});
($rc, $out) = verify($badsig);
like($out, qr/attest\.tpm_bad_signature/, 'altered signature: refused');

($ch, $cred, $ev) = fresh_ev();
my $badmagic = edit_ev($ev, sub {
    my $q = decode_base64($_[0]{quote});
    substr($q, 0, 1) = "\x00";
    $_[0]{quote} = encode_base64($q, '');
});
($rc, $out) = verify($badmagic);
like($out, qr/attest\.tpm_bad_magic/, 'not TPM_GENERATED: refused');

($ch, $cred, $ev) = fresh_ev();
my $notquote = edit_ev($ev, sub {
    my $q = decode_base64($_[0]{quote});
    substr($q, 4, 2) = "\x80\x17";          # TPM_ST_ATTEST_CERTIFY
    $_[0]{quote} = encode_base64($q, '');
});
($rc, $out) = verify($notquote);
like($out, qr/attest\.tpm_not_quote/, 'attestation of another type: refused');

# An RSASSA signature offered for the ECDSA AK's quote.
my $rsasig = decode_json(slurp($first_ev))->{signature};
(undef, $ch, $cred) = challenge(ak_pub => "$n/ak2.pub");
$ev = answer($ch, $cred, "--ak 0x81010003 --ak-pub $n/ak2.pub");
($rc, $out) = verify(edit_ev($ev, sub { $_[0]{signature} = $rsasig }));
like($out, qr/attest\.tpm_signature_scheme/,
     'signature scheme other than the AK\'s: refused');

must("$tpm ekcert-ecc $n");
system("$wid attest challenge --kind tpm --state $st $roots"
       . " --ek-cert $n/ek-ecc.der --ek-chain $n/ekchain.pem"
       . " --ak-public $n/ak.pub --cred-out $d/cred-ecc > /dev/null"
       . " 2> $d/ecc.err");
is($? >> 8, 1, 'ECC (P-384) EK: refused, not half-supported');
like(slurp("$d/ecc.err"), qr/attest\.tpm_ek_unsupported/,
     '... EK unsupported');

must("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
     . " -keyout $d/other.key -out $d/other.pem -subj /CN=other -days 2");
{
    local $roots = "--roots $d/other.pem";
    ($rc, undef, undef, $out) = challenge();
    is($rc, 1, 'EK certificate from another manufacturer: refused');
    like($out, qr/attest\.tpm_ek_untrusted/, '... EK untrusted');
}

must("$tpm ekpub $n");
($rc, undef, undef, $out) = challenge(ak_pub => "$n/ek.pub");
is($rc, 1, 'a decrypting key offered as AK: refused');
like($out, qr/attest\.tpm_ak_attributes/, '... AK attributes');

# --- expiry --------------------------------------------------------------
(undef, $ch, $cred) = challenge(extra => '--ttl 5');
$ev = answer($ch, $cred);
($rc, $out) = verify($ev, '--now ' . (time + 60));
like($out, qr/attest\.challenge_expired/, 'answer after expiry: refused');

# --- reset counter going backwards (rolled-back TPM state) --------------
must("$tpm stop $n");
must("$tpm snapshot $n old");
must("$tpm start $n");
must("$tpm reboot $n");
must("$tpm reboot $n");
sleep 4;    # the TPM's clock runs on: the verifier records it ahead
($ch, $cred, $ev) = fresh_ev();
($rc, $out) = verify($ev);
is($rc, 0, 'after two reboots: verified (counters advance)');
must("$tpm stop $n");
must("$tpm restore $n old");
must("$tpm start $n");
($ch, $cred, $ev) = fresh_ev();
($rc, $out) = verify($ev);
is($rc, 1, 'TPM state rolled back: refused');
like($out, qr/attest\.tpm_counter_decreased/, '... reset count decreased');
# Rebooting the old state past the recorded reset count does not help:
# its Clock, kept across reboots, is still behind what the TPM reported.
must("$tpm reboot $n") for 1 .. 3;
($ch, $cred, $ev) = fresh_ev();
($rc, $out) = verify($ev);
is($rc, 1, 'rolled back, then rebooted past the recorded counts: refused');
like($out, qr/attest\.tpm_counter_decreased/, '... its clock went back');

# --- power loss: the TPM no longer vouches for its clock ----------------
# (A verifier that never saw this node: only the clock is at issue.)
# After power loss the TPM's clock is unsafe until the TPM next saves it
# to NV, every 4.096 s of TPM clock (libtpms: NV_CLOCK_UPDATE_INTERVAL
# 12), after which it vouches for it again.  A quote is taken while it is
# unsafe if the TPM still reports unsafe afterwards (the flag only goes
# from unsafe to safe); if a save came first, power is lost again.
my $unsafe_quote;
for my $try (1 .. 5) {
    must("$tpm crash $n");
    must("$tpm start $n");
    {
        local $st = "$d/state-fresh";
        ($ch, $cred, $ev) = fresh_ev();
        ($rc, $out) = verify($ev);
    }
    my $safe_now = must("$tpm clocksafe $n");
    $unsafe_quote = $safe_now =~ /^0/ || $out =~ /attest\.tpm_clock_unsafe/;
    last if $unsafe_quote;
}
ok($unsafe_quote, 'a quote taken while the clock is unsafe (within 5 power losses)');
is($rc, 1, 'quote after power loss (safe=0): refused');
like($out, qr/attest\.tpm_clock_unsafe/, '... clock unsafe') or diag($out);

# --- usage ---------------------------------------------------------------
($rc, $out) = sh("$wid attest verify --kind tpm --evidence $ev");
is($rc, 2, 'tpm without --state/--roots: operational error (2)');
# A FIFO as roots or EK chain is refused at once, not waited on.
system('mkfifo', "$d/fifo.pem") == 0 or die 'mkfifo';
($rc, $out) = sh("timeout 10 $wid attest verify --kind tpm --evidence $ev"
                 . " --state $st --roots $d/fifo.pem");
is($rc, 2, 'verify --roots FIFO: refused at once (exit 2)');
like($out, qr/attest\.config_invalid/, '... attest.config_invalid');
for my $opt ("--roots $d/fifo.pem --ek-chain $n/ekchain.pem",
             "--roots $n/roots.pem --ek-chain $d/fifo.pem") {
    ($rc, $out) = sh("timeout 10 $wid attest challenge --kind tpm"
                     . " --state $st $opt --ek-cert $n/ek.der"
                     . " --ak-public $n/ak.pub --cred-out $d/cred-fifo");
    is($rc, 2, "challenge $opt: refused at once (exit 2)");
    like($out, qr/attest\.config_invalid/, '... attest.config_invalid');
}
($rc, $out) = sh("$wid attest verify --kind frob --evidence $ev");
is($rc, 1, 'unknown kind: refused');
like($out, qr/attest\.kind_unknown/, '... kind unknown');

done_testing;
