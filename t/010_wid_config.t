#!/usr/bin/perl
# Every wid directive is parsed by the master, and every mistake fails
# `nginx -t` with the file, the line and a reason code: nothing is left
# to be discovered by a request.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use WidNginx;

my $t = WidNginx->new;
my $pki = $t->path('pki');
$t->server_cert;
my ($key, $pub) = $t->receipt_key;
$t->pki('td', $pki, 'example.org');

$t->write_file('policy.yaml', <<'EOF');
version: 1
rules:
  api:
    allow: [GET]
    require_workload_identity:
      trust_domain: example.org
EOF
$t->write_file('broken.yaml', "version: 1\nrules:\n  api:\n    alow: [GET]\n");

# A valid configuration; each case below changes one thing.
my %base = (
    bundle  => 'wid_trust_bundle example.org %%PKI%%/example.org.pem;',
    policy  => 'wid_policy %%PREFIX%%/policy.yaml;',
    journal => "wid_journal %%PREFIX%%/journal key=$key;",
    extra   => '',
    loc     => 'wid on; wid_rule api;',
);

sub conf {
    my (%o) = (%base, @_);
    return <<"EOF";
http {
    $o{bundle}
    $o{policy}
    $o{journal}
    $o{extra}
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate     %%PKI%%/server.pem;
        ssl_certificate_key %%PKI%%/server.key;
        ssl_verify_client   optional_no_ca;
        location / {
            $o{loc}
        }
    }
}
EOF
}

sub fails {
    my ($name, $re, %o) = @_;
    my ($ok, $out) = $t->test_config(conf(%o));
    ok(!$ok, "nginx -t fails: $name");
    like($out, $re, "$name: reason") or diag $out;
    like($out, qr{nginx\.conf:\d+}, "$name: names file and line");
}

my ($ok, $out) = $t->test_config(conf());
ok($ok, 'the base configuration passes nginx -t') or diag $out;

($ok, $out) = $t->test_config(conf(loc => 'wid off;', bundle => '',
                                   policy => '', journal => ''));
ok($ok, 'wid off needs nothing else') or diag $out;

fails('no policy', qr/no "wid_policy" is configured/, policy => '');
fails('no rule', qr/no "wid_rule" is configured/, loc => 'wid on;');
fails('unknown rule', qr/"wid_rule" "nope" is not a rule.*policy\.unknown_rule/,
      loc => 'wid on; wid_rule nope;');
fails('no trust bundle', qr/no "wid_trust_bundle"/, bundle => '');
fails('no journal', qr/no "wid_journal" is configured/, journal => '');
fails('JWT without audience', qr/jwt\.audience_not_configured/,
      loc => 'wid on; wid_rule api; wid_credential jwt;');
fails('audience above the verifier\'s 1024 bytes',
      qr/wid_jwt_audience.*is longer than 1024 bytes/,
      loc => 'wid on; wid_rule api; wid_jwt_audience ' . ('a' x 1025) . ';');
($ok, $out) = $t->test_config(conf(loc => 'wid on; wid_rule api; '
                                   . 'wid_jwt_audience ' . ('a' x 1024) . ';'));
ok($ok, 'an audience of exactly 1024 bytes passes') or diag $out;
fails('missing policy file', qr/policy\.unreadable/,
      policy => 'wid_policy %%PREFIX%%/missing.yaml;');
fails('policy typo', qr/broken\.yaml":4:\d+: .*policy\.unknown_key/,
      policy => 'wid_policy %%PREFIX%%/broken.yaml;');
fails('duplicate policy', qr/"wid_policy" directive is duplicate/,
      loc => 'wid on; wid_rule api; wid_policy %%PREFIX%%/policy.yaml; '
             . 'wid_policy %%PREFIX%%/policy.yaml;');
fails('bad policy parameter', qr/invalid parameter "signed=x"/,
      policy => 'wid_policy %%PREFIX%%/policy.yaml signed=x;');

# Signed policies.
$t->write_file('signed.yaml', $t->read_file('policy.yaml'));
fails('signature required, none present', qr/policy\.signature_missing/,
      policy => "wid_policy %%PREFIX%%/signed.yaml signed_by=$pub;");
my ($rc, $sout) = $t->wid('policy', 'sign', $t->path('signed.yaml'),
                          '--key', $key);
is($rc, 0, 'wid policy sign') or diag $sout;
($ok, $out) = $t->test_config(
    conf(policy => "wid_policy %%PREFIX%%/signed.yaml signed_by=$pub;"));
ok($ok, 'signed policy accepted') or diag $out;
$t->wid('keygen', '--out', "$pki/stranger");
fails('signed by another key', qr/policy\.signer_mismatch/,
      policy => "wid_policy %%PREFIX%%/signed.yaml "
                . "signed_by=%%PKI%%/stranger.pub;");
$t->write_file('signed.yaml', $t->read_file('policy.yaml') . "# edited\n");
fails('policy changed after signing', qr/policy\.signature_invalid/,
      policy => "wid_policy %%PREFIX%%/signed.yaml signed_by=$pub;");

# The receipt key.
fails('journal without key', qr/invalid number of arguments in "wid_journal"/,
      journal => 'wid_journal %%PREFIX%%/journal;');
fails('journal key missing among options', qr/needs the receipt signing key/,
      journal => 'wid_journal %%PREFIX%%/journal fsync=never;');
fails('missing key', qr/key\.unreadable/,
      journal => 'wid_journal %%PREFIX%%/journal key=%%PKI%%/none.key;');
$t->write_file('open.key', $t->read_file($key), 0644);
fails('key readable by others', qr/key\.permissions_too_open/,
      journal => 'wid_journal %%PREFIX%%/journal key=%%PREFIX%%/open.key;');
$t->write_file('pub-as.key', $t->read_file($pub), 0600);
fails('public key as receipt key', qr/key\.malformed/,
      journal => 'wid_journal %%PREFIX%%/journal key=%%PREFIX%%/pub-as.key;');
fails('bad fsync', qr/invalid parameter "fsync=sometimes"/,
      journal => "wid_journal %%PREFIX%%/journal key=$key fsync=sometimes;");
fails('bad checkpoint_records', qr/invalid parameter "checkpoint_records=0"/,
      journal => "wid_journal %%PREFIX%%/journal key=$key "
                 . "checkpoint_records=0;");
fails('bad checkpoint_interval',
      qr/invalid parameter "checkpoint_interval=soon"/,
      journal => "wid_journal %%PREFIX%%/journal key=$key "
                 . "checkpoint_interval=soon;");
($ok, $out) = $t->test_config(
    conf(journal => "wid_journal %%PREFIX%%/journal key=$key fsync=always "
                    . "checkpoint_records=5 checkpoint_interval=2s;"));
ok($ok, 'every journal parameter') or diag $out;

# Other directives.
fails('bad mode', qr/invalid value "maybe"/, loc => 'wid maybe; wid_rule api;');
fails('bad credential', qr/invalid value "password"/,
      loc => 'wid on; wid_rule api; wid_credential password;');
fails('leeway too large', qr/"wid_jwt_leeway" directive must be at most 1h/,
      loc => 'wid on; wid_rule api; wid_jwt_leeway 2h;');
fails('bad header name', qr/invalid header name "X Token"/,
      loc => 'wid on; wid_rule api; wid_jwt_header "X Token";');
fails('quote in realm', qr/"wid_realm" .* must not contain quotes/,
      loc => 'wid on; wid_rule api; wid_realm "a\"b";');
fails('bad zone', qr/invalid zone "wid", expected NAME:SIZE/,
      extra => 'wid_cache_zone wid;');
fails('tiny zone', qr/zone "wid:1k" is too small/,
      extra => 'wid_cache_zone wid:1k;');
fails('bad refresh', qr/"wid_bundle_refresh" directive invalid value/,
      extra => 'wid_bundle_refresh often;');
fails('bundle directive in a location', qr/"wid_trust_bundle" directive is not allowed here/,
      loc => 'wid on; wid_rule api; wid_trust_bundle a.org /x;');

($ok, $out) = $t->test_config(conf(
    extra => 'wid_cache_zone wid:1m; wid_bundle_refresh 1s;',
    loc => 'wid observe; wid_rule api; wid_credential any; '
           . 'wid_jwt_audience api; wid_jwt_header X-Token; '
           . 'wid_jwt_leeway 30s; wid_attestation_header X-Att; '
           . 'wid_operation $request_method; wid_realm "api";'));
ok($ok, 'every location directive at once') or diag $out;

# Trust bundles are parsed by libcore at configuration time.
{
    fails('missing bundle', qr/bundle\.unreadable/,
          bundle => 'wid_trust_bundle example.org %%PKI%%/none.pem;');
    my $pem = $t->read_file("$pki/example.org.pem");
    $t->write_file('torn.pem', substr($pem, 0, length($pem) / 2));
    fails('torn bundle at start', qr/bundle\.pem_invalid/,
          bundle => 'wid_trust_bundle example.org %%PREFIX%%/torn.pem;');
    fails('invalid trust domain', qr/bundle\.trust_domain_invalid|id\./,
          bundle => 'wid_trust_bundle Example.ORG %%PKI%%/example.org.pem;');
    fails('a directory given as one bundle file',
          qr/bundle\.directory_named \(a directory: wid_trust_bundle_dir reads/,
          bundle => 'wid_trust_bundle example.org %%PKI%%;');

    # At start there is no last good bundle to keep: not said to stay.
    mkdir $t->path('bdir');
    $t->write_file('bdir/example.org.pem', substr($pem, 0, length($pem) / 2));
    my ($ok, $out) = $t->test_config(
        conf(bundle => 'wid_trust_bundle_dir %%PREFIX%%/bdir;'));
    ok(!$ok, 'nginx -t fails: a torn bundle in the directory at start');
    like($out, qr/bundle\.pem_invalid/, '... with its reason') or diag $out;
    unlike($out, qr/last good bundle/, '... and no last good bundle claimed');
}

done_testing;
