package WidNginx;

# The project's nginx test harness: a temporary prefix with a generated
# nginx.conf that loads the wid module, free loopback ports, the stock
# /usr/sbin/nginx started in the foreground, HTTP/1.1 over TLS (with an
# optional client certificate) through IO::Socket::SSL, HTTP/2 through
# curl, and assertions on status, headers, body and the error log.
#
#   my $t = WidNginx->new;
#   $t->write_file('site.conf', ...);
#   $t->run(<<'EOF');            # %%PORT_0%%, %%PREFIX%%, %%PKI%% ...
#   ...
#   my $r = $t->get('/path', cert => ..., key => ..., headers => {...});
#   is($r->{status}, 200);
#
# WID_TEST_KEEP=1 keeps the prefix of a failing test file for inspection.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use IO::Socket::SSL;
use POSIX qw(WNOHANG);
use Test::More ();
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(repo_root);

my $ROOT = abs_path(dirname(__FILE__) . '/../..');

sub repo_root { $ROOT }

sub new {
    my ($class, %opt) = @_;
    my $self = bless {
        nginx   => $ENV{WID_NGINX} || '/usr/sbin/nginx',
        module  => $ENV{WID_MODULE}
                   || "$ROOT/build/nginx/ngx_http_wid_module.so",
        wid     => $ENV{WID_BIN} || "$ROOT/build/bin/wid",
        pki_bin => "$ROOT/tests/tools/widpki",
        workers => $opt{workers} || 1,
        ports   => [],
        %opt,
    }, $class;

    Test::More::BAIL_OUT("module not built: $self->{module} (run make)")
        unless -f $self->{module};

    # Workers must read test files and write the journal: the prefix is
    # world-searchable, and when tests run as root so do the workers.
    $self->{prefix} = tempdir('wid-nginx-XXXXXX', TMPDIR => 1);
    chmod 0755, $self->{prefix};
    mkdir "$self->{prefix}/$_" for qw(logs tmp pki);
    $self->{user} //= $> == 0 ? 'root' : undef;
    return $self;
}

sub prefix { $_[0]{prefix} }
sub path { "$_[0]{prefix}/$_[1]" }

# Free loopback TCP ports, stable for the life of the object.
sub port {
    my ($self, $n) = @_;
    $n //= 0;
    while (@{$self->{ports}} <= $n) {
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp',
                                      ReuseAddr => 1)
            or die "cannot find a free port: $!";
        push @{$self->{ports}}, $s->sockport;
        close $s;
    }
    return $self->{ports}[$n];
}

sub write_file {
    my ($self, $name, $content, $mode) = @_;
    my $path = $name =~ m{^/} ? $name : $self->path($name);
    open my $fh, '>', $path or die "$path: $!";
    print $fh $content;
    close $fh;
    chmod $mode, $path if defined $mode;
    return $path;
}

sub read_file {
    my ($self, $name) = @_;
    my $path = $name =~ m{^/} ? $name : $self->path($name);
    open my $fh, '<', $path or return '';
    local $/;
    return scalar <$fh>;
}

# The policy several tests share: rule "api" allows GET to the workloads
# of trust domain td under /w.
sub api_policy {
    my ($self, $td) = @_;
    return $self->write_file('policy.yaml', <<"EOF");
version: 1
rules:
  api:
    allow: [GET]
    require_workload_identity:
      trust_domain: $td
      path_prefixes: [/w]
EOF
}

# Static files below www/ (directories made as needed), each holding body.
sub www_pages {
    my ($self, $body, @names) = @_;
    for my $name (@names) {
        make_path(dirname($self->path("www/$name")));
        $self->write_file("www/$name", $body);
    }
}

# Run the test PKI tool with the prefix's pki/ directory.
sub pki {
    my ($self, @args) = @_;
    my $cmd = join ' ', map { quotemeta } $self->{pki_bin}, @args;
    my $out = `$cmd 2>&1`;
    die "widpki @args: $out" if $?;
    chomp $out;
    return $out;
}

# A TLS server certificate for 127.0.0.1/localhost, made once per prefix.
sub server_cert {
    my ($self) = @_;
    my $pre = $self->path('pki/server');
    $self->pki('server', $self->path('pki'), $pre) unless -f "$pre.pem";
    return ("$pre.pem", "$pre.key");
}

sub _expand {
    my ($self, $text) = @_;
    $text =~ s/%%PORT_(\d+)%%/$self->port($1)/ge;
    $text =~ s/%%PREFIX%%/$self->{prefix}/g;
    $text =~ s/%%PKI%%/$self->{prefix}\/pki/g;
    $text =~ s/%%ROOT%%/$ROOT/g;
    return $text;
}

# The main context, and temp paths inside the first http block.
sub _conf {
    my ($self, $body) = @_;
    my $p = $self->{prefix};
    my $main = ($self->{unloaded} ? '' : "load_module $self->{module};\n")
        . "daemon off;\nmaster_process on;\n"
        . "worker_processes $self->{workers};\n"
        . "pid $p/nginx.pid;\n"
        . "error_log $p/logs/error.log " . ($self->{log_level} || 'info')
        . ";\n"
        . ($self->{user} ? "user $self->{user};\n" : '')
        . "events { worker_connections 1024; }\n";
    my $http = join '', map { "    ${_}_temp_path $p/tmp/$_;\n" }
        qw(client_body proxy fastcgi uwsgi scgi);
    $http .= "    access_log $p/logs/access.log;\n";
    $body = $self->_expand($body);
    $body =~ s/^(\s*http\s*\{[^\n]*\n)/$1$http/m;
    return $main . $body;
}

# From now on the configuration does not load the module (a reload then
# unloads it from the master).
sub without_module { $_[0]{unloaded} = 1; return $_[0] }

sub write_conf {
    my ($self, $body) = @_;
    $self->{conf_body} = $body;
    return $self->write_file('nginx.conf', $self->_conf($body));
}

# `nginx -t` on a configuration; returns (ok, output).
sub test_config {
    my ($self, $body) = @_;
    $self->write_conf($body) if defined $body;
    my $p = $self->{prefix};
    my $out = `$self->{nginx} -t -p $p/ -c $p/nginx.conf -e $p/logs/error.log 2>&1`;
    return ($? == 0, $out);
}

sub run {
    my ($self, $body) = @_;
    $self->write_conf($body) if defined $body;
    my $p = $self->{prefix};
    unlink "$p/nginx.pid";

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$p/logs/stdout.log";
        open STDERR, '>>', "$p/logs/stderr.log";
        exec $self->{nginx}, '-p', "$p/", '-c', "$p/nginx.conf",
            '-e', "$p/logs/error.log";
        exit 127;
    }
    $self->{pid} = $pid;

    # Ready when the pid file exists and every listening port answers.
    my $deadline = time + 10;
    while (time < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) {
            delete $self->{pid};
            die "nginx exited at start:\n" . $self->read_file('logs/error.log')
                . $self->read_file('logs/stderr.log');
        }
        if (-s "$p/nginx.pid" && $self->_ports_ready) {
            return $self;
        }
        sleep 0.05;
    }
    die "nginx not ready after 10 s:\n" . $self->read_file('logs/error.log');
}

sub _ports_ready {
    my ($self) = @_;
    my $conf = $self->read_file('nginx.conf');
    for my $port ($conf =~ /listen\s+127\.0\.0\.1:(\d+)/g) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Timeout => 1) or return 0;
        close $s;
    }
    return 1;
}

sub worker_pids {
    my ($self) = @_;
    return () unless $self->{pid};
    my @pids = `pgrep -P $self->{pid}`;
    chomp @pids;
    return @pids;
}

# Reload: SIGHUP, then wait until a new generation of workers runs.
sub reload {
    my ($self, $body) = @_;
    $self->write_conf($body) if defined $body;
    my %old = map { $_ => 1 } $self->worker_pids;
    kill 'HUP', $self->{pid};
    my $deadline = time + 10;
    while (time < $deadline) {
        my @pids = $self->worker_pids;
        my @new = grep { !$old{$_} } @pids;
        return $self if @new >= $self->{workers}
            && !grep { $old{$_} } @pids;
        sleep 0.05;
    }
    die "reload did not finish:\n" . $self->read_file('logs/error.log');
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    kill 'QUIT', $pid;
    my $deadline = time + 10;
    while (time < $deadline) {
        return if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

# Raw request bytes over TLS (default) or plain TCP; returns raw reply.
sub raw {
    my ($self, $request, %o) = @_;
    my $port = $o{port} // $self->port(0);
    my $s;
    if ($o{plain}) {
        $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                   Timeout => 5);
    } else {
        $s = IO::Socket::SSL->new(
            PeerAddr        => "127.0.0.1:$port",
            Timeout         => 5,
            SSL_verify_mode => SSL_VERIFY_NONE,
            # Nothing is verified: skip loading the system CA store
            # (about 50 ms per connection).
            SSL_ca          => [],
            SSL_hostname    => $o{sni} // 'localhost',
            ($o{cert} ? (SSL_cert_file => $o{cert},
                         SSL_key_file  => $o{key}) : ()),
        );
    }
    return { error => "connect: $! $SSL_ERROR" } unless $s;
    print $s $request;
    local $/;
    my $reply = <$s> // '';
    close $s;
    return $reply;
}

sub parse_response {
    my ($raw) = @_;
    return $raw if ref $raw;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    $head //= '';
    my ($status_line, @lines) = split /\r\n/, $head;
    my %r = (raw => $raw, body => $body // '', headers => {});
    ($r{status}) = ($status_line // '') =~ m{^HTTP/1\.[01] (\d{3})};
    $r{status} //= 0;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $k = lc $k;
        $r{headers}{$k} = exists $r{headers}{$k}
            ? "$r{headers}{$k}, $v" : $v;
    }
    if (($r{headers}{'transfer-encoding'} // '') =~ /chunked/i) {
        my ($b, $out) = ($r{body}, '');
        while ($b =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr($b, 0, $n, '');
            $b =~ s/^\r\n//;
        }
        $r{body} = $out;
    }
    return \%r;
}

# GET (or another method) over HTTP/1.1 and TLS; returns a parsed reply:
# { status, headers => { lowercase => value }, body, raw }.
sub get {
    my ($self, $uri, %o) = @_;
    my $method = $o{method} || 'GET';
    my $req = "$method $uri HTTP/1.1\r\nHost: " . ($o{host} || 'localhost')
        . "\r\nConnection: close\r\n";
    my $h = $o{headers} || {};
    for my $k (ref $h eq 'ARRAY' ? () : sort keys %$h) {
        $req .= "$k: $h->{$k}\r\n";
    }
    if (ref $h eq 'ARRAY') {             # ordered, duplicates allowed
        for (my $i = 0; $i < @$h; $i += 2) {
            $req .= "$h->[$i]: $h->[$i + 1]\r\n";
        }
    }
    my $body = $o{body} // '';
    $req .= "Content-Length: " . length($body) . "\r\n" if length $body;
    $req .= "\r\n$body";
    return parse_response($self->raw($req, %o));
}

# curl's options for one HTTP/2 request: the client certificate, the
# headers ({ name => value } or [ name => value, ... ], repeats kept) and
# the URL on the test's port.
sub _h2_request_args {
    my ($port, $uri, %o) = @_;
    my @args;
    push @args, '--cert', $o{cert}, '--key', $o{key} if $o{cert};
    my $h = $o{headers} || {};
    my @h = ref $h eq 'ARRAY' ? @$h : map { ($_, $h->{$_}) } sort keys %$h;
    for (my $i = 0; $i < @h; $i += 2) {
        push @args, '-H', "$h[$i]: $h[$i + 1]";
    }
    push @args, "https://localhost:$port$uri", '--resolve',
        "localhost:$port:127.0.0.1";
    return @args;
}

# Status line and headers of an HTTP/2 reply head, into %$r.
sub _h2_head {
    my ($r, $head) = @_;
    my ($status_line, @lines) = split /\r\n/, $head // '';
    ($r->{version}, $r->{status}) =
        ($status_line // '') =~ m{^HTTP/(\S+) (\d{3})};
    $r->{status} //= 0;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $r->{headers}{lc $k} = $v;
    }
    return $r;
}

# GET over HTTP/2 with curl (a real HTTP/2 TLS client).
sub get_h2 {
    my ($self, $uri, %o) = @_;
    my $port = $o{port} // $self->port(0);
    my @cmd = ('curl', '-sk', '--http2', '-D', '-', '-o', '-',
               '--max-time', '10', _h2_request_args($port, $uri, %o));
    open my $fh, '-|', @cmd or die "curl: $!";
    local $/;
    my $raw = <$fh> // '';
    close $fh;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    return _h2_head({ raw => $raw, body => $body // '', headers => {} },
                    $head);
}

# Several requests over one HTTP/2 connection (one curl run: its
# connection cache carries the connection from one request to the next).
# Each request is [METHOD, URI]; returns one reply per request, as
# get_h2 does (without body), plus {connects}: 1 for the request that
# opened the connection, 0 for those that reused it.
sub get_h2_many {
    my ($self, $reqs, %o) = @_;
    my $port = $o{port} // $self->port(0);
    my @cmd = ('curl');
    for my $i (0 .. $#$reqs) {
        my ($method, $uri) = @{$reqs->[$i]};
        push @cmd, '--next' if $i;
        push @cmd, '-sk', '--http2', '--max-time', '10', '-X', $method,
            '-D', '-', '-o', '/dev/null',
            '-w', '#WID-END %{num_connects}\n',
            _h2_request_args($port, $uri, %o);
    }
    open my $fh, '-|', @cmd or die "curl: $!";
    local $/;
    my $raw = <$fh> // '';
    close $fh;
    my @replies;
    while ($raw =~ /\G(.*?)#WID-END (\d+)\n/gs) {
        push @replies, _h2_head({ raw => $1, headers => {}, connects => $2 },
                                $1);
    }
    return @replies;
}

# A keepalive HTTP/1.1 connection over TLS (optionally with a client
# certificate): requests one after the other on the same TLS connection,
# so the same worker and the same per-connection state.
#
#   my $c = $t->conn(cert => ..., key => ...);
#   my $r = $c->get('/path', headers => {...});    # parsed as get() does
#
# A request on a connection the server has closed dies: a test that
# asserts per-connection behaviour must not silently reconnect.
sub conn {
    my ($self, %o) = @_;
    return WidNginx::Conn->new($self, %o);
}

sub error_log { $_[0]->read_file('logs/error.log') }

# Assert a line in the error log (waits briefly: workers log async).
sub error_log_like {
    my ($self, $re, $name) = @_;
    my $deadline = time + 2;
    while (time < $deadline) {
        return Test::More::pass($name) if $self->error_log =~ $re;
        sleep 0.05;
    }
    Test::More::fail($name);
    Test::More::diag("error log does not match $re");
}

# No worker died from a signal (crash) or exited with an error code (a
# sanitizer report in the ASan+UBSan build: make test-nginx-asan).
sub no_crashes {
    my ($self, $name) = @_;
    Test::More::unlike($self->error_log,
                       qr/exited on signal|exited with code [1-9]/,
                       $name // 'no worker crashed');
}

# Run the wid CLI; returns (exit code, stdout+stderr).
sub wid {
    my ($self, @args) = @_;
    my $cmd = join ' ', map { quotemeta } $self->{wid}, @args;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}

sub DESTROY {
    my ($self) = @_;
    local $?;
    $self->stop;
    return unless $self->{prefix} && -d $self->{prefix};
    if ($ENV{WID_TEST_KEEP} && !Test::More->builder->is_passing) {
        Test::More::diag("kept nginx prefix: $self->{prefix}");
        return;
    }
    remove_tree($self->{prefix});
}

# ---- wid fixtures: receipt key, JWT authorities, JWT-SVIDs, journal ----
#
# Used by the ngx_wid_module tests; everything is made at test time.

# The receipt signing key pair: (pki/receipt.key, pki/receipt.pub).
sub receipt_key {
    my ($self) = @_;
    my $p = $self->path('pki/receipt');
    unless (-f "$p.key") {
        my ($rc, $out) = $self->wid('keygen', '--out', $p);
        die "wid keygen: $out" if $rc;
    }
    return ("$p.key", "$p.pub");
}

# A JWT authority (EC P-256) of trust domain td with key id kid.  The
# SPIFFE bundle pki/<td>.jwt.json is rewritten with every key of td made
# so far (unless no_write).  Returns the Crypt::PK::ECC key.
sub jwt_authority {
    my ($self, $td, $kid, %o) = @_;
    require Crypt::PK::ECC;
    my $pk = Crypt::PK::ECC->new;
    $pk->generate_key('secp256r1');
    my $jwk = $pk->export_key_jwk('public', 1);
    $jwk->{kid} = $kid;
    $jwk->{use} = 'jwt-svid';
    push @{$self->{jwks}{$td}}, $jwk;
    $self->{jwt_keys}{$kid} = $pk;
    $self->write_jwks($td) unless $o{no_write};
    return $pk;
}

sub write_jwks {
    my ($self, $td, $file) = @_;
    require JSON::PP;
    $file //= $self->path("pki/$td.jwt.json");
    my $json = JSON::PP->new->canonical->encode(
        { keys => $self->{jwks}{$td} || [], spiffe_sequence => 1 });
    # In place, like spiffe-helper: the module must cope with rewrites.
    return $self->write_file($file, $json);
}

# A JWT-SVID signed by the authority kid: sub, aud (default "wid-test"),
# exp (default now+3600), optional nbf, iat, extra claims.
sub mint_jwt {
    my ($self, %o) = @_;
    require Crypt::JWT;
    my $now = int(time);
    my %claims = (sub => $o{sub}, aud => $o{aud} // 'wid-test',
                  exp => $o{exp} // $now + 3600, iat => $o{iat} // $now);
    $claims{nbf} = $o{nbf} if defined $o{nbf};
    %claims = (%claims, %{$o{claims} || {}});
    return Crypt::JWT::encode_jwt(
        payload => \%claims, alg => $o{alg} // 'ES256',
        key => $o{key} // $self->{jwt_keys}{$o{kid}},
        extra_headers => { kid => $o{kid}, typ => 'JWT' });
}

# `wid journal verify DIR --pubkey pki/receipt.pub`: (exit code, output).
sub journal_verify {
    my ($self, $dir) = @_;
    my (undef, $pub) = $self->receipt_key;
    return $self->wid('journal', 'verify', $dir, '--pubkey', $pub);
}

# `wid journal query DIR --json [ARGS]`: list of receipt hashes.
sub journal_query {
    my ($self, $dir, @args) = @_;
    require JSON::PP;
    my ($rc, $out) = $self->wid('journal', 'query', $dir, '--json', @args);
    die "wid journal query: $out" if $rc > 1;
    return map { JSON::PP::decode_json($_) } grep { /^\{/ } split /\n/, $out;
}

package WidNginx::Conn;

use IO::Select;
use IO::Socket::SSL;

sub new {
    my ($class, $t, %o) = @_;
    my $port = $o{port} // $t->port(0);
    my $s = IO::Socket::SSL->new(
        PeerAddr        => "127.0.0.1:$port",
        Timeout         => 5,
        SSL_verify_mode => SSL_VERIFY_NONE,
        SSL_ca          => [],
        SSL_hostname    => 'localhost',
        ($o{cert} ? (SSL_cert_file => $o{cert},
                     SSL_key_file  => $o{key}) : ()),
    ) or die "connect: $! $SSL_ERROR";
    return bless { s => $s, buf => '' }, $class;
}

# Bytes until the buffer holds at least $n, or until EOF when $n is undef.
sub _fill {
    my ($self, $n) = @_;
    my $s = $self->{s};
    while (!defined $n || length $self->{buf} < $n) {
        unless ($s->pending) {
            IO::Select->new($s)->can_read(10)
                or die "keepalive connection: no reply within 10 s";
        }
        my $got = sysread($s, my $chunk, 65536);
        die "keepalive connection: read: $!" unless defined $got;
        if ($got == 0) {
            return if !defined $n;
            die "keepalive connection closed by the server";
        }
        $self->{buf} .= $chunk;
    }
}

sub get {
    my ($self, $uri, %o) = @_;
    my $req = ($o{method} || 'GET') . " $uri HTTP/1.1\r\nHost: localhost\r\n";
    my $h = $o{headers} || {};
    $req .= "$_: $h->{$_}\r\n" for sort keys %$h;
    print { $self->{s} } "$req\r\n";

    my $end;
    while (($end = index($self->{buf}, "\r\n\r\n")) < 0) {
        $self->_fill(length($self->{buf}) + 1);
    }
    my $head = substr($self->{buf}, 0, $end + 4, '');
    my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
    die "keepalive connection: reply without Content-Length:\n$head"
        unless defined $len;
    $self->_fill($len);
    my $body = substr($self->{buf}, 0, $len, '');
    return WidNginx::parse_response($head . $body);
}

sub close {
    my ($self) = @_;
    CORE::close($self->{s}) if $self->{s};
    delete $self->{s};
}

1;
