package WidIssue;

# Test material for evidence-gated issuance (ssh-wid-helper issue
# --config / serve): a trust domain with JWT and X.509 authorities, SVIDs,
# tokens, CA and receipt keys, a policy, helper configurations, the serve
# daemon and its socket protocol.  Everything is generated at test time
# in the directory given.

use strict;
use warnings;

use Cwd qw(abs_path);
use Crypt::JWT qw(encode_jwt);
use Exporter qw(import);
use IO::Socket::UNIX;
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep);

use WidSshd qw(run slurp spew repo_root helper_bin make_user_key);

our @EXPORT_OK = qw(setup_td serve_client mint_jwt write_policy issuer_conf
                    login_conf
                    start_serve stop_serve sock_request sock_raw
                    journal_verify journal_receipts wid_bin);

my $JSON = JSON::PP->new->canonical;

sub wid_bin { $ENV{WID_BIN} // repo_root() . '/build/bin/wid' }
sub pki     { repo_root() . '/tests/tools/widpki' }

# setup_td(DIR): JWT authorities (mint-jwt suite: a.org, b.org), an X.509
# trust domain a.org with SVIDs for /workload and /other, a CA key, a
# receipt key.  Returns a hash of paths.
sub setup_td {
    my ($d) = @_;
    my %p = (dir => $d);
    my ($rc, $out, $err) = run('/usr/bin/python3',
                               repo_root() . '/tests/tools/mint-jwt',
                               'suite', "$d/jwt");
    die "mint-jwt: $err" if $rc;
    ($rc, $out, $err) = run(pki(), 'td', "$d/pki", 'a.org');
    die "widpki td: $err" if $rc;
    for my $w (qw(workload other)) {
        ($rc, $out, $err) = run(pki(), 'leaf', "$d/pki", 'a.org', "$d/$w",
                                '--id', "spiffe://a.org/$w");
        die "widpki leaf: $err" if $rc;
    }
    for my $k (qw(ca rcpt)) {
        ($rc, $out, $err) = run(wid_bin(), 'keygen', '--out', "$d/$k");
        die "keygen: $err" if $rc;
    }
    ($rc, $out, $err) = run(helper_bin(), 'pubkey', '--ca-key', "$d/ca.key");
    die "pubkey: $err" if $rc;
    spew("$d/ca_ssh.pub", $out, 0644);
    mkdir("$d/journal", 0755);
    %p = (%p,
          jwt_key     => "$d/jwt/keys/a-ec256.pem",
          jwt_bundle  => "$d/jwt/a.org.json",
          x509_bundle => "$d/pki/a.org.pem",
          ca_key      => "$d/ca.key",
          ca_pub      => "$d/ca_ssh.pub",
          rcpt_key    => "$d/rcpt.key",
          rcpt_pub    => "$d/rcpt.pub",
          journal     => "$d/journal",
          index       => "$d/issued.jsonl");
    return \%p;
}

# serve_client(DIR): setup_td(DIR), the default policy at DIR/policy.yaml,
# a user SSH key DIR/id and a JWT-SVID in DIR/jwt.txt (0600): what a
# serve test needs before its daemon starts.  Returns (paths, the user
# key's path, the token).
sub serve_client {
    my ($d) = @_;
    my $p = setup_td($d);
    write_policy("$d/policy.yaml");
    my $key = make_user_key($d, 'id');
    my $jwt = mint_jwt($p);
    spew("$d/jwt.txt", $jwt, 0600);
    return ($p, $key, $jwt);
}

# A JWT-SVID signed by a.org's ES256 authority.
sub mint_jwt {
    my ($p, %c) = @_;
    my $key = slurp($p->{jwt_key});
    my $now = time;
    my %claims = (sub => $c{sub} // 'spiffe://a.org/workload',
                  aud => $c{aud} // ['wid-ssh-test'],
                  exp => $c{exp} // $now + 3600, iat => $now - 5);
    return encode_jwt(payload => \%claims, alg => 'ES256', key => \$key,
                      extra_headers => { kid => 'a-ec256', typ => 'JWT' });
}

# write_policy(PATH, user => NAME, %overrides): rule "ssh_e2e" (workload
# only) and "ssh_attested" (needs a tier nobody can reach yet).
sub write_policy {
    my ($path, %o) = @_;
    my $user = $o{user} // 'deploy';
    my $prefix = $o{prefix} // '/workload';
    my $principals = $o{principals} // "[$user, backup]";
    my $src = $o{source} // '[127.0.0.0/8, "::1"]';
    my $ttl = $o{max_ttl} // 300;
    my $exts = $o{extensions} // '[permit-pty]';
    my $enabled = $o{enabled} // 'true';
    my $allow = $o{allow} // '[ssh_issue, ssh_login]';
    my $fc = defined $o{force_command}
           ? "      force_command: \"$o{force_command}\"\n" : '';
    spew($path, <<"YAML", 0644);
version: 1
rules:
  ssh_e2e:
    enabled: $enabled
    allow: $allow
    require_workload_identity:
      trust_domain: a.org
      path_prefixes: [$prefix]
      credential_kinds: [jwt_svid, x509_svid]
    ssh:
      principals: $principals
      max_ttl_seconds: $ttl
      source_address: $src
$fc      extensions: $exts
  http_only:
    allow: [ssh_issue, GET]
  ssh_attested:
    allow: [ssh_issue, ssh_login]
    require_workload_identity:
      trust_domain: a.org
    require_runtime_assurance_tier: attested
    ssh:
      principals: [$user]
      max_ttl_seconds: 300
extensions:
  runtime_assurance:
    trusted_verifiers:
      spire:
        schema: wid.attestation.spire-agent.v1
        verifier: spire-server.a.org
        effective_tier: attested
        max_evidence_age_seconds: 300
        allowed_attestation_types: [unix]
YAML
}

# The issuer's configuration (issue --config, serve).
sub issuer_conf {
    my ($p, %o) = @_;
    my $path = $o{path} // "$p->{dir}/issuer.conf";
    my $text = "ca_key $p->{ca_key}\n"
             . "policy $o{policy}\n"
             . "rule ssh_e2e\nrule ssh_attested\nrule http_only\n"
             . "audience wid-ssh-test\n"
             . "bundle a.org=$p->{jwt_bundle}\n"
             . "bundle a.org=$p->{x509_bundle}\n"
             . "journal $p->{journal}\n"
             . "receipt_key $p->{rcpt_key}\n"
             . "receipt_pubkey $p->{rcpt_pub}\n"
             . "index $p->{index}\n"
             . ($o{extra} // '');
    spew($path, $text, 0600);
    return $path;
}

# Lines for the principals configuration (added to WidSshd's).
sub login_conf {
    my ($p, %o) = @_;
    return "policy $o{policy}\nrule ssh_e2e\nrule ssh_attested\n"
         . "journal $p->{journal}\nreceipt_key $o{receipt_key}\n"
         . ($o{extra} // '');
}

sub start_serve {
    my ($conf, $sock) = @_;
    my $log = "$sock.log";
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>>', $log);
        open(STDERR, '>>', $log);
        exec(helper_bin(), 'serve', '--config', $conf, '--socket', $sock)
            or POSIX::_exit(127);
    }
    for (1 .. 200) {
        return $pid if -S $sock;
        die "serve exited at start:\n" . slurp($log)
            if waitpid($pid, WNOHANG) == $pid;
        sleep(0.05);
    }
    kill('KILL', $pid);
    die "serve did not create $sock:\n" . slurp($log);
}

# SIGTERM; returns the exit code.
sub stop_serve {
    my ($pid) = @_;
    kill('TERM', $pid);
    for (1 .. 200) {
        return $? >> 8 if waitpid($pid, WNOHANG) == $pid;
        sleep(0.05);
    }
    kill('KILL', $pid);
    waitpid($pid, 0);
    return -1;
}

# Send raw bytes (already framed or not) and read a framed answer.
sub sock_raw {
    my ($sock, $bytes) = @_;
    my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $sock)
        or die "connect $sock: $!";
    print $s $bytes;
    shutdown($s, 1);
    my $hdr = '';
    read($s, $hdr, 4);
    return undef if length($hdr) < 4;
    my $len = unpack('N', $hdr);
    my $body = '';
    while (length($body) < $len) {
        my $n = read($s, $body, $len - length($body), length($body));
        last unless $n;
    }
    close $s;
    return $JSON->decode($body);
}

# A request (hash or raw JSON text) to the daemon; returns the answer.
sub sock_request {
    my ($sock, $req) = @_;
    my $text = ref $req ? $JSON->encode($req) : $req;
    return sock_raw($sock, pack('N', length $text) . $text);
}

sub journal_verify {
    my ($p) = @_;
    return run(wid_bin(), 'journal', 'verify', $p->{journal}, '--pubkey',
               $p->{rcpt_pub});
}

# All receipts as decoded JSON objects.
sub journal_receipts {
    my ($p) = @_;
    my ($rc, $out, $err) = run(wid_bin(), 'journal', 'export',
                               $p->{journal});
    die "export: $err" if $rc;
    return [ map { $JSON->decode($_) } grep { length } split /\n/, $out ];
}

1;
