#!/usr/bin/perl
# The wid benchmark driver (`make bench`, issue 9).  bench/README.md says
# how to run it and how to read what it writes.
#
# Stock nginx serves the baselines without the wid module; a second nginx
# with the module serves the wid scenarios.  Both run at once, idle but
# for the scenario being measured, and scenarios are measured in rounds
# (a, b, ..., f, then again) so that a baseline and the scenario compared
# with it always share the machine's state of the moment: every figure is
# a ratio to a baseline measured in the same run.  Medians of the rounds.
#
# A scenario whose prerequisites are not built (a directive the module
# does not know yet, a make target not written yet) is reported as "not
# available" with the reason, and its target as not met: never as pass.
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use Getopt::Long qw(GetOptions);
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG ceil floor strftime);
use Time::HiRes qw(sleep time);

my $ROOT = abs_path(dirname(__FILE__) . '/..');
my $BUILD = $ENV{BUILD} || 'build';
$BUILD = "$ROOT/$BUILD" unless $BUILD =~ m{^/};

my %opt = (
    duration => 2,          # seconds per measured run
    runs     => 7,          # rounds; medians are taken over them
    workers  => '1,2',
    budget   => 570,        # seconds: `make bench` must end within 10 min
    conns    => 32,         # keepalive connections (as the peers' wrk -c32)
    new_conns => 16,        # connections in new-connection mode
    speed_seconds => 2,     # openssl speed -seconds N
    rss_tokens => 100000,
    out      => "$ROOT/bench",
    keep     => 0,
    profile  => 1,
    spin     => 1,          # one worker: the client polls on its own core
);
GetOptions(\%opt, 'duration=f', 'runs=i', 'workers=s', 'budget=i',
           'conns=i', 'new_conns|new-conns=i', 'speed_seconds|speed-seconds=i',
           'rss_tokens|rss-tokens=i', 'out=s', 'keep!', 'profile!', 'conf=s',
           'only=s', 'quick', 'render', 'spin!', 'help')
    or die "usage: see bench/README.md\n";
if ($opt{help}) {
    print <<'EOF';
usage: perl bench/run.pl [--duration S] [--runs N] [--workers 1,2]
                         [--budget SECONDS] [--only a,b,c,...] [--quick]
                         [--no-profile] [--no-spin] [--keep] [--out DIR]
                         [--conf DIR]
  --quick   1 s runs, 2 rounds, 20,000 RSS tokens: a smoke run, its
            figures are not for the record
  --conf    another directory of configuration templates (default
            bench/conf), e.g. to try directive variants
  --no-spin one worker: the load generator sleeps in epoll_wait instead
            of polling on its own core (waking it costs the worker an
            inter-processor interrupt; see bench/README.md)
  --keep    keep the temporary directory (configs, logs, journals)
  --render  measure nothing: rewrite RESULTS.md from results.json and
            bench/NOTES.md (after editing the notes)
EOF
    exit 0;
}
if ($opt{quick}) {
    $opt{duration} = 1;
    $opt{runs} = 2;
    $opt{rss_tokens} = 20000;
    $opt{speed_seconds} = 1;
}

my $T0 = time;
my $NGINX = $ENV{WID_NGINX} || '/usr/sbin/nginx';
my $MODULE = "$BUILD/nginx/ngx_http_wid_module.so";
my $LOADGEN = "$BUILD/bench/loadgen";
my $JWTMINT = "$BUILD/bench/jwtmint";
my $WID = "$BUILD/bin/wid";
my $WIDPKI = "$ROOT/tests/tools/widpki";
my $CONF = abs_path($opt{conf} // "$ROOT/bench/conf");
my $NCPU = `nproc` + 0 || 1;
my $json = JSON::PP->new->canonical->pretty;


my $DIR = tempdir('wid-bench-XXXXXX', TMPDIR => 1, CLEANUP => 0);
chmod 0755, $DIR;
mkdir "$DIR/$_" for qw(pki html tokens);

my @instances;               # running nginx instances, stopped at exit
my %R = (                    # everything results.json will hold
    schema  => 'wid-bench/1',
    config  => { map { $_ => $opt{$_} } qw(duration runs conns new_conns
                                           speed_seconds rss_tokens spin) },
    notes   => [],
);

$SIG{INT} = $SIG{TERM} = sub { cleanup(); exit 130 };
END { cleanup() }

sub cleanup {
    local $?;
    stop_nginx($_) for @instances;
    @instances = ();
    remove_tree($DIR) if $DIR && -d $DIR && !$opt{keep};
}

sub say_ { print STDERR "bench: ", @_, "\n" }
sub elapsed { time - $T0 }
sub left { $opt{budget} - elapsed() }
sub note { push @{$R{notes}}, $_[0]; say_("note: $_[0]") }

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    return scalar <$fh>;
}

sub spit {
    my ($f, $s) = @_;
    open my $fh, '>', $f or die "$f: $!";
    print $fh $s;
    close $fh or die "$f: $!";
}

# Run a command (list form); returns (exit code, stdout+stderr).
sub run_cmd {
    my (@cmd) = @_;
    my $pid = open my $fh, '-|';
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or exit 127;
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? >> 8, $out);
}

sub median {
    my @v = sort { $a <=> $b } grep { defined } @_;
    return undef unless @v;
    my $n = @v;
    return $n % 2 ? $v[$n / 2] : ($v[$n / 2 - 1] + $v[$n / 2]) / 2;
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp',
                                  ReuseAddr => 1)
        or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# ---------------------------------------------------------------------
# The machine

sub machine {
    my ($model) = slurp('/proc/cpuinfo') =~ /^model name\s*:\s*(.+)$/m;
    my ($mhz) = slurp('/proc/cpuinfo') =~ /^cpu MHz\s*:\s*(.+)$/m;
    my (undef, $nv) = run_cmd($NGINX, '-v');
    my (undef, $ov) = run_cmd('openssl', 'version');
    my (undef, $kernel) = run_cmd('uname', '-r');
    my ($load) = slurp('/proc/loadavg') =~ /^(\S+ \S+ \S+)/;
    chomp($nv, $ov, $kernel);
    $nv =~ s/^nginx version: //;
    my (undef, $lscpu) = run_cmd('lscpu');
    my ($hyp) = $lscpu =~ /Hypervisor vendor:\s*(\S+)/;
    return {
        cpu_model => $model // 'unknown',
        cpu_mhz   => $mhz ? $mhz + 0 : undef,
        cores     => $NCPU,
        hypervisor => $hyp // 'none',
        kernel    => $kernel,
        nginx     => $nv,
        openssl   => $ov,
        date_utc  => strftime('%Y-%m-%dT%H:%M:%SZ', gmtime),
        load_at_start => $load,
    };
}

# ---------------------------------------------------------------------
# Test material, all generated now: server certificate, an X.509 trust
# domain with a client SVID, JWT signing keys and their SPIFFE bundle, the
# receipt signing key.

sub setup_pki {
    my $pki = "$DIR/pki";
    my @steps = (
        [$WIDPKI, 'server', $pki, "$pki/server"],
        [$WIDPKI, 'td', $pki, 'x509.bench.test'],
        [$WIDPKI, 'leaf', $pki, 'x509.bench.test', "$pki/client",
         '--id', 'spiffe://x509.bench.test/bench/client'],
        ['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt',
         'ec_paramgen_curve:P-256', '-out', "$pki/es256.key"],
        ['openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt',
         'rsa_keygen_bits:2048', '-out', "$pki/rs256.key"],
        [$JWTMINT, 'jwks', "$pki/jwt.bench.test.json",
         "es1=$pki/es256.key", "rs1=$pki/rs256.key"],
    );
    for my $c (@steps) {
        my ($rc, $out) = run_cmd(@$c);
        die "bench: @$c failed:\n$out" if $rc;
    }
    if (-x $WID) {
        my ($rc, $out) = run_cmd($WID, 'keygen', '--out', "$pki/receipt");
        note("wid keygen failed, wid scenarios will lack a receipt key: "
             . (split /\n/, $out)[0]) if $rc;
    }
    # A small static file (the peers' benchmark also served one).
    spit("$DIR/html/index.html", ('wid benchmark static file ' x 24) . "\n");
    for my $alg (qw(es256 rs256)) {
        my $kid = $alg eq 'es256' ? 'es1' : 'rs1';
        my ($rc, $out) = run_cmd($JWTMINT, 'mint', '--key',
            "$pki/$alg.key", '--kid', $kid,
            '--sub', 'spiffe://jwt.bench.test/bench/client',
            '--aud', 'bench', '--jti', "same-$alg", '--count', 2,
            '--out', "$DIR/tokens/$alg-same.txt");
        die "bench: jwtmint: $out" if $rc;
    }
}

sub token_line {
    my ($file, $n) = @_;
    my @l = split /\n/, slurp($file);
    return $l[$n // 0];
}

# Mint N distinct ES256 tokens into FILE, on all cores.
sub mint_tokens {
    my ($file, $n, $tag) = @_;
    my $parts = $NCPU > 1 && $n > 1 ? 2 : 1;
    my @pids;
    for my $i (0 .. $parts - 1) {
        my $cnt = int($n / $parts) + ($i < $n % $parts ? 1 : 0);
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            exec $JWTMINT, 'mint', '--key', "$DIR/pki/es256.key",
                '--kid', 'es1', '--sub',
                'spiffe://jwt.bench.test/bench/client', '--aud', 'bench',
                '--jti', "$tag-$i", '--count', $cnt, '--out', "$file.$i";
            exit 127;
        }
        push @pids, $pid;
    }
    for (@pids) {
        waitpid($_, 0);
        die "bench: jwtmint failed\n" if $?;
    }
    open my $out, '>', $file or die "$file: $!";
    for my $i (0 .. $parts - 1) {
        print $out slurp("$file.$i");
        unlink "$file.$i";
    }
    close $out;
}

# ---------------------------------------------------------------------
# nginx instances

my %PORT;
$PORT{$_} = free_port() for qw(A B C E);

sub expand {
    my ($text, %extra) = @_;
    my %v = (PKI => "$DIR/pki", HTML => "$DIR/html", CONF => $CONF,
             CACHE_SIZE => '64m',
             (map { ("PORT_$_" => $PORT{$_}) } keys %PORT), %extra);
    $text =~ s/%%(\w+)%%/exists $v{$1} ? $v{$1} : die "unknown %%$1%%\n"/ge;
    return $text;
}

# A template from bench/conf, placeholders filled; its includes of other
# templates are inlined (they hold placeholders too).
sub conf_file {
    my ($name, %x) = @_;
    my $text = expand(slurp("$CONF/$name"), %x);
    $text =~ s{^([ \t]*)include\s+\Q$CONF\E/(\S+);[ \t]*\n}{
        my ($ind, $inc) = ($1, conf_file($2, %x));
        $inc =~ s/^(?=.)/$ind/mg;
        $inc;
    }gme;
    return $text;
}

sub affinity {
    my ($workers) = @_;
    return '' if $NCPU < 2;
    # One worker: core 0 (the load generator gets core 1).  Two: one each.
    return $workers == 1 ? "worker_cpu_affinity 01;\n"
                         : "worker_cpu_affinity 01 10;\n";
}

sub make_conf {
    my (%o) = @_;
    my $p = $o{prefix};
    my $conf = '';
    $conf .= "load_module $MODULE;\n" if $o{module};
    $conf .= "daemon off;\nmaster_process on;\n"
        . "worker_processes $o{workers};\n" . affinity($o{workers})
        . "pid $p/nginx.pid;\nerror_log $p/logs/error.log warn;\n"
        . ($> == 0 ? "user root;\n" : '')
        . "events { worker_connections 4096; }\n"
        . "http {\n"
        . join('', map { "    ${_}_temp_path $p/tmp/$_;\n" }
               qw(client_body proxy fastcgi uwsgi scgi))
        . "    keepalive_requests 100000000;\n"
        . "    keepalive_timeout 300s;\n"
        . $o{http} . "}\n";
    return $conf;
}

sub new_prefix {
    my ($name) = @_;
    my $p = "$DIR/$name";
    remove_tree($p);
    mkdir $p;
    mkdir "$p/$_" for qw(logs tmp journal);
    return $p;
}

# `nginx -t` on a configuration; returns (ok, message).
sub nginx_test {
    my (%o) = @_;
    my $p = new_prefix("probe-$o{name}");
    spit("$p/nginx.conf", make_conf(%o, prefix => $p, workers => 1));
    my ($rc, $out) = run_cmd($NGINX, '-t', '-p', "$p/", '-c',
                             "$p/nginx.conf", '-e', "$p/logs/error.log");
    my ($msg) = $out =~ /\[emerg\]\s*(.+)$/m;
    $msg //= (split /\n/, $out)[0] // '';
    $msg =~ s/ in \Q$p\E\S*//;
    return ($rc == 0, $msg);
}

sub start_nginx {
    my (%o) = @_;
    my $p = new_prefix($o{name});
    spit("$p/nginx.conf", make_conf(%o, prefix => $p));
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$p/logs/stdout.log";
        open STDERR, '>>', "$p/logs/stderr.log";
        exec $NGINX, '-p', "$p/", '-c', "$p/nginx.conf",
            '-e', "$p/logs/error.log";
        exit 127;
    }
    my $inst = { %o, prefix => $p, pid => $pid };
    push @instances, $inst;
    my $deadline = time + 15;
    while (time < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) {
            delete $inst->{pid};
            die "bench: nginx $o{name} exited at start:\n"
                . slurp("$p/logs/error.log") . slurp("$p/logs/stderr.log");
        }
        if (-s "$p/nginx.pid" && workers_of($inst) >= $o{workers}
            && ports_ready($o{ports}))
        {
            return $inst;
        }
        sleep 0.05;
    }
    die "bench: nginx $o{name} not ready:\n" . slurp("$p/logs/error.log");
}

sub ports_ready {
    my ($ports) = @_;
    for my $port (@{$ports || []}) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Timeout => 1) or return 0;
        close $s;
    }
    return 1;
}

sub workers_of {
    my ($inst) = @_;
    return () unless $inst->{pid};
    my (undef, $out) = run_cmd('pgrep', '-P', $inst->{pid});
    return grep { /^\d+$/ } split /\n/, $out;
}

sub stop_nginx {
    my ($inst) = @_;
    my $pid = delete $inst->{pid} or return;
    kill 'QUIT', $pid;
    my $deadline = time + 10;
    while (time < $deadline) {
        return if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

# A worker's tasks: its threads, and those of its child processes (wid's
# journal fsync helper, `wid-fsync`).  Their CPU time is the worker's: the
# sync's work is wid's, wherever it runs.
sub worker_tasks {
    my ($w) = @_;
    my @kids = map { split ' ', slurp($_) } glob("/proc/$w/task/*/children");
    my @t = map { glob("/proc/$_/task/*") } $w, @kids;
    return @t ? @t : ("/proc/$w");
}

# Nanoseconds the workers spent on a CPU, all their threads (schedstat;
# /proc/PID/stat ticks, which cover every thread, as a fallback).
sub worker_cpu_ns {
    my ($inst) = @_;
    my $sum = 0;
    for my $w (workers_of($inst)) {
        my ($ns, $ok) = (0, 1);
        for my $t (worker_tasks($w)) {
            if (slurp("$t/schedstat") =~ /^(\d+)/) {
                $ns += $1;
            } else {
                $ok = 0;
            }
        }
        if (!$ok) {
            my @f = split ' ', (slurp("/proc/$w/stat") =~ /\)\s*(.*)/)[0];
            $ns = ($f[11] + $f[12]) * 1e9 / POSIX::sysconf(POSIX::_SC_CLK_TCK());
        }
        $sum += $ns;
    }
    return $sum;
}

# Nanoseconds the workers' threads waited, runnable, for a CPU
# (schedstat's second field): how much the rest of the machine got in
# the way.
sub worker_wait_ns {
    my ($inst) = @_;
    my $sum = 0;
    for my $w (workers_of($inst)) {
        for my $t (worker_tasks($w)) {
            $sum += $1 if slurp("$t/schedstat") =~ /^\d+\s+(\d+)/;
        }
    }
    return $sum;
}

sub vmrss_kib {
    my ($pid) = @_;
    my ($kb) = slurp("/proc/$pid/status") =~ /^VmRSS:\s*(\d+)\s*kB/m;
    return $kb;
}

# ---------------------------------------------------------------------
# The load generator

sub loadgen {
    my (%o) = @_;
    my @cmd;
    push @cmd, 'taskset', '-c', $o{cpu} if defined $o{cpu};
    push @cmd, $LOADGEN, '--json', '-q',
        '-c', $o{conns} // $opt{conns},
        '-t', $o{threads} // 1;
    push @cmd, '-d', $o{duration} if $o{duration};
    push @cmd, '-n', $o{requests} if $o{requests};
    push @cmd, '--new-conn' if $o{new_conn};
    push @cmd, '--spin' if $o{spin};
    push @cmd, '--cert', "$DIR/pki/client.pem", '--key',
        "$DIR/pki/client.key" if $o{cert};
    push @cmd, '-H', "Authorization: Bearer $o{token}" if $o{token};
    push @cmd, '--tokens', $o{tokens} if $o{tokens};
    push @cmd, "https://127.0.0.1:$o{port}/index.html";
    my ($rc, $out) = run_cmd(@cmd);
    my ($line) = grep { /^\{/ } reverse split /\n/, $out;
    die "bench: loadgen failed ($rc): $out\n" if $rc || !$line;
    return decode_json($line);
}

# ---------------------------------------------------------------------
# Scenarios

my @SCEN = (
    { id => 'a', title => 'plain TLS, static file', inst => 'stock',
      port => 'A' },
    # The baselines of (e) and (f) send the same request as they do,
    # bearer token included (stock nginx ignores it), as the peer
    # measurements in the research notes did: the ratio then prices what
    # wid does with the token, not the bytes a client chose to send.
    { id => 'a_rs256', title => "(a), the same request as (e_rs256): "
                                . 'its Authorization header',
      inst => 'stock', port => 'A', token => 'rs256', base => 'a' },
    { id => 'a_es256', title => "(a), the same request as (e_es256) and (f): "
                                . 'an ES256 token\'s Authorization header',
      inst => 'stock', port => 'A', token => 'es256', base => 'a' },
    { id => 'b', title => 'nginx ssl_verify_client on, static file',
      inst => 'stock', port => 'B', cert => 1, base => 'a' },
    { id => 'b_new', title => '(b) with a new TLS connection per request',
      inst => 'stock', port => 'B', cert => 1, new_conn => 1 },
    { id => 'c', title => 'wid X.509-SVID, keepalive', inst => 'wid',
      port => 'C', cert => 1, block => 'x509', base => 'b', target => 0.95 },
    { id => 'd', title => 'wid X.509-SVID, new TLS connection per request',
      inst => 'wid', port => 'C', cert => 1, new_conn => 1, block => 'x509',
      base => 'b_new', target => 0.95 },
    { id => 'e_rs256', title => 'wid JWT-SVID RS256, same token (cache hit)',
      inst => 'wid', port => 'E', token => 'rs256', block => 'jwt',
      base => 'a_rs256', target => 0.90 },
    { id => 'e_es256', title => 'wid JWT-SVID ES256, same token (cache hit)',
      inst => 'wid', port => 'E', token => 'es256', block => 'jwt',
      base => 'a_es256', target => 0.90 },
    { id => 'f', title => 'wid JWT-SVID ES256, a new token per request '
                          . '(cache miss)',
      inst => 'wid', port => 'E', tokens => 1, block => 'jwt',
      base => 'a_es256', cpu_target => 1.15 },
);
my %SCEN = map { $_->{id} => $_ } @SCEN;

# Each scenario runs right after its baseline, and every other round runs
# in reverse order, so that a drift in the machine's load hits both sides
# of a ratio alike.
my @ORDER = qw(a a_rs256 e_rs256 e_es256 a_es256 f b c b_new d);
my %ONLY = map { $_ => 1 } split /,/, $opt{only} // '';
if ($opt{only}) {
    my %want = %ONLY;
    # Baselines of the chosen scenarios come along.
    for my $s (@SCEN) {
        next unless $want{$s->{id}};
        $want{$s->{base}} = 1 if $s->{base};
        $want{b} = 1 if $s->{id} eq 'b_new' || ($s->{base} // '') eq 'b_new';
    }
    $want{a} = 1 if $want{a_rs256} || $want{a_es256};
    $want{b} = 1 if $want{b_new};
    $_->{skip} = !$want{$_->{id}} for @SCEN;
}
# nginx is started only for a run that measures one of its scenarios
# (--only i: the SSH helper alone).
my $NGINX_RUN = grep { !$_->{skip} } @SCEN;

my %BLOCKS = (x509 => 'wid-x509.conf', jwt => 'wid-jwt.conf');
my %AVAIL;          # block => { ok, why }

sub wid_http {
    my (%x) = @_;
    my $http = conf_file('wid-http.conf', %x);
    for my $blk (sort keys %BLOCKS) {
        $http .= conf_file($BLOCKS{$blk}) if $x{blocks}{$blk};
    }
    return $http;
}

# Which wid scenarios can run: the module must exist and accept the
# scenario's configuration (`nginx -t`).
sub probe {
    unless (-f $MODULE) {
        $AVAIL{$_} = { ok => 0, why => "module not built ($MODULE)" }
            for keys %BLOCKS;
        return;
    }
    unless (-f "$DIR/pki/receipt.key") {
        $AVAIL{$_} = { ok => 0, why => 'no receipt key (wid keygen)' }
            for keys %BLOCKS;
        return;
    }
    for my $b (sort keys %BLOCKS) {
        my ($ok, $msg) = nginx_test(name => $b, module => 1,
            http => wid_http(blocks => { $b => 1 }, PREFIX => "$DIR/probe-$b"));
        $AVAIL{$b} = { ok => $ok, why => $ok ? '' : "nginx -t: $msg" };
    }
}

sub available {
    my ($s) = @_;
    return 1 unless $s->{block};
    return $AVAIL{$s->{block}}{ok};
}

sub lg_args {
    my ($s, $phase) = @_;
    my %a = (port => $PORT{$s->{port}}, cert => $s->{cert},
             new_conn => $s->{new_conn}, duration => $opt{duration},
             conns => $s->{new_conn} ? $opt{new_conns} : $opt{conns});
    # One worker: nginx on core 0, the load generator on core 1.  Two
    # workers take both cores; the load generator shares them (2 threads).
    if ($phase->{workers} == 1 && $NCPU > 1) {
        $a{cpu} = 1;
        # Polling, the client is never woken: waking a sleeping one costs
        # the sender an inter-processor interrupt (a VM exit in a guest),
        # charged to the nginx worker, which a remote client never costs.
        $a{spin} = $opt{spin};
    } else {
        $a{threads} = $NCPU > 1 ? 2 : 1;
    }
    $a{token} = token_line("$DIR/tokens/$s->{token}-same.txt")
        if $s->{token};
    return %a;
}

# Before measuring a wid scenario: a credential-less request must be
# refused and a good one served, or the figures would be of errors.
sub sanity {
    my ($s, $phase) = @_;
    my %a = lg_args($s, $phase);
    delete @a{qw(duration cpu threads)};
    $a{conns} = 1;
    $a{requests} = 1;
    my %good = %a;
    if ($s->{tokens}) {
        my $f = "$DIR/tokens/sanity-$phase->{workers}.txt";
        mint_tokens($f, 1, "sanity-$phase->{workers}") unless -f $f;
        $good{tokens} = $f;
    }
    my $r = loadgen(%good);
    return "a request with a valid credential got "
        . ($r->{errors}{total} ? "$r->{errors}{total} error(s)"
                               : "non-2xx ($r->{non_2xx})")
        unless ($r->{status}{'2xx'} // 0) == 1;
    my %bad = %a;
    delete @bad{qw(cert token tokens)};
    $r = loadgen(%bad);
    return "a request without a credential was served (2xx)"
        if ($r->{status}{'2xx'} // 0) > 0;
    return '';
}

sub measure {
    my ($s, $phase, $inst, %extra) = @_;
    my %a = (lg_args($s, $phase), %extra);
    my ($c0, $q0) = (worker_cpu_ns($inst), worker_wait_ns($inst));
    my $r = loadgen(%a);
    my ($c1, $q1) = (worker_cpu_ns($inst), worker_wait_ns($inst));
    my $n = $r->{requests} || 0;
    my $w = $phase->{workers};
    $r->{worker_cpu_s} = ($c1 - $c0) / 1e9;
    $r->{worker_cpu_us_per_req} = $n ? ($c1 - $c0) / 1e3 / $n : undef;
    # Share of the workers' cores they kept busy: near 1 means nginx was
    # the bottleneck; well below 1 means the client (or another load)
    # was, and the throughput figure understates nginx.
    $r->{worker_util} = $r->{duration_s}
        ? ($c1 - $c0) / 1e9 / ($r->{duration_s} * $w) : undef;
    $r->{worker_wait} = $r->{duration_s}
        ? ($q1 - $q0) / 1e9 / ($r->{duration_s} * $w) : undef;
    return $r;
}

sub phase {
    my ($w, $later_phases) = @_;
    my $phase = { workers => $w, scen => {}, later_phases => $later_phases };
    say_("phase: $w worker(s), ${\ sprintf('%.0f', left())} s of budget left");

    my @run = grep { !$_->{skip} } @SCEN;
    my %blocks;
    for my $s (@run) {
        if (!available($s)) {
            $phase->{scen}{$s->{id}} = { status => 'not available',
                                         why => $AVAIL{$s->{block}}{why} };
            next;
        }
        $blocks{$s->{block}} = 1 if $s->{block};
    }
    @run = grep { available($_) } @run;

    my %inst;
    $inst{stock} = start_nginx(name => "stock-$w", workers => $w,
        http => conf_file('stock.conf'),
        ports => [$PORT{A}, $PORT{B}]);
    if (%blocks) {
        my $prefix = "$DIR/wid-$w";
        $inst{wid} = start_nginx(name => "wid-$w", workers => $w,
            module => 1,
            http => wid_http(blocks => \%blocks, PREFIX => $prefix),
            ports => [map { $PORT{$_} }
                      ($blocks{x509} ? 'C' : ()), ($blocks{jwt} ? 'E' : ())]);
    }

    # Sanity, then warm-up (connections, caches, the first token).
    for my $s (@run) {
        if ($s->{inst} eq 'wid') {
            my $why = sanity($s, $phase);
            if ($why) {
                $phase->{scen}{$s->{id}} = { status => 'not available',
                                             why => "sanity check: $why" };
                $s->{dead}{$w} = 1;
                next;
            }
        }
        next if $s->{tokens};
        loadgen(lg_args($s, $phase), duration => 0.3);
    }
    @run = grep { !$_->{dead}{$w} } @run;

    # Distinct tokens for the cache-miss runs: enough for the workers
    # verifying at the raw ES256 rate for the whole run, so a run ends on
    # the clock, or earlier if tokens run out (its rate still holds).
    my ($f) = grep { $_->{tokens} } @run;
    if ($f) {
        my $rate = $R{openssl}{ecdsap256_verify_per_s} || 20000;
        my $per = ceil($rate * $w * $opt{duration} * 1.25) + 100;
        $per = 200000 if $per > 200000;
        for my $i (1 .. $opt{runs}) {
            mint_tokens("$DIR/tokens/f-$w-$i.txt", $per, "f$w-$i");
        }
        $phase->{tokens_per_run} = $per;
    }

    my $per_round = 0;
    $per_round += $opt{duration} + 0.6 for @run;
    my %pos = map { $ORDER[$_] => $_ } 0 .. $#ORDER;
    my @fwd = sort { $pos{$a->{id}} <=> $pos{$b->{id}} } @run;
    for my $i (1 .. $opt{runs}) {
        # Leave time for the phases still to come and the memory test.
        my $later = $phase->{later_phases} * ($per_round * 2 + 20) + 45;
        if ($i > 3 && left() < $per_round + $later) {
            note("$w worker(s): stopped after " . ($i - 1)
                 . " of $opt{runs} rounds: time budget");
            last;
        }
        for my $s ($i % 2 ? @fwd : reverse @fwd) {
            my %extra;
            $extra{tokens} = "$DIR/tokens/f-$w-$i.txt" if $s->{tokens};
            my $r = measure($s, $phase, $inst{$s->{inst}}, %extra);
            push @{$phase->{scen}{$s->{id}}{runs}}, $r;
            say_(sprintf("  %d/%d %-8s %9.0f req/s  worker %5.1f us/req "
                         . "util %.2f  non-2xx %d  errors %d",
                         $i, $opt{runs}, $s->{id}, $r->{rps},
                         $r->{worker_cpu_us_per_req} // 0,
                         $r->{worker_util} // 0, $r->{non_2xx},
                         $r->{errors}{total}));
        }
    }
    unlink glob("$DIR/tokens/f-$w-*.txt");

    # The load generator against wrk on (a): is the client fast enough?
    if ($w == 1 && !$SCEN{a}{skip}) {
        $phase->{wrk} = wrk_compare($phase, $inst{stock});
    }

    for my $s (@run) {
        my $e = $phase->{scen}{$s->{id}};
        my @runs = @{$e->{runs} || []};
        $e->{status} = 'measured';
        for my $k (qw(rps worker_cpu_us_per_req worker_util worker_wait
                      cpu_util)) {
            $e->{median}{$k} = median(map { $_->{$k} } @runs);
        }
        $e->{median}{p50_ms} = median(map { $_->{latency_us}{p50} / 1e3 } @runs);
        $e->{median}{p99_ms} = median(map { $_->{latency_us}{p99} / 1e3 } @runs);
        $e->{rps_min} = (sort { $a <=> $b } map { $_->{rps} } @runs)[0];
        $e->{rps_max} = (sort { $b <=> $a } map { $_->{rps} } @runs)[0];
        $e->{non_2xx} = 0;
        $e->{errors} = 0;
        $e->{requests} = 0;
        for (@runs) {
            $e->{non_2xx} += $_->{non_2xx};
            $e->{errors} += $_->{errors}{total};
            $e->{requests} += $_->{requests};
        }
        $e->{tls} = $runs[0]{tls} if @runs;
    }
    delete $phase->{later_phases};

    $phase->{error_log_tail} = {
        map { my $l = slurp("$inst{$_}{prefix}/logs/error.log");
              my @l = grep { /\[(emerg|alert|crit|error)\]/ } split /\n/, $l;
              ($_ => [@l[($#l > 4 ? $#l - 4 : 0) .. $#l]]) } keys %inst };
    stop_nginx($inst{$_}) for keys %inst;
    return $phase;
}

sub wrk_compare {
    my ($phase, $inst) = @_;
    my (undef, $has) = run_cmd('sh', '-c', 'command -v wrk');
    return { status => 'not available', why => 'wrk not installed' }
        unless $has =~ /wrk/;
    my %cmp;
    my $url = "https://127.0.0.1:$PORT{A}/index.html";
    for my $i (1 .. $opt{runs}) {
        last if left() < 2 * $opt{duration} + 60;
        my $c0 = worker_cpu_ns($inst);
        my ($rc, $out) = run_cmd('taskset', '-c', $NCPU > 1 ? 1 : 0, 'wrk',
            '-t1', "-c$opt{conns}", "-d$opt{duration}s", $url);
        my $c1 = worker_cpu_ns($inst);
        my ($rps) = $out =~ /Requests\/sec:\s*([\d.]+)/;
        my ($n) = $out =~ /(\d+) requests in/;
        my ($non2xx) = $out =~ /Non-2xx or 3xx responses:\s*(\d+)/;
        push @{$cmp{wrk}}, { rps => $rps, requests => $n,
            non_2xx => $non2xx // 0,
            worker_cpu_us_per_req => $n ? ($c1 - $c0) / 1e3 / $n : undef,
            worker_util => ($c1 - $c0) / 1e9 / $opt{duration} };
        my $r = measure($SCEN{a}, $phase, $inst);
        push @{$cmp{loadgen}}, { rps => $r->{rps}, requests => $r->{requests},
            non_2xx => $r->{non_2xx}, cpu_util => $r->{cpu_util},
            worker_cpu_us_per_req => $r->{worker_cpu_us_per_req},
            worker_util => $r->{worker_util} };
    }
    return { status => 'not run', why => 'time budget' } unless $cmp{wrk};
    my %res = (status => 'measured', runs => \%cmp);
    for my $t (qw(wrk loadgen)) {
        for my $k (qw(rps worker_util worker_cpu_us_per_req)) {
            $res{$t}{$k} = median(map { $_->{$k} } @{$cmp{$t}});
        }
    }
    $res{loadgen}{cpu_util} = median(map { $_->{cpu_util} } @{$cmp{loadgen}});
    $res{ratio} = $res{wrk}{rps} ? $res{loadgen}{rps} / $res{wrk}{rps} : undef;
    return \%res;
}

# ---------------------------------------------------------------------
# Raw ES256 verify cost, on the core nginx's single worker uses.

sub openssl_speed {
    my @cmd = ('openssl', 'speed', '-seconds', $opt{speed_seconds},
               'ecdsap256');
    unshift @cmd, 'taskset', '-c', '0' if $NCPU > 1;
    my ($rc, $out) = run_cmd(@cmd);
    my ($sign, $verify) =
        $out =~ /256 bits? ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)/;
    return { status => 'failed', output => $out } unless $verify;
    return { status => 'measured', command => join(' ', @cmd),
             ecdsap256_sign_per_s => $sign + 0,
             ecdsap256_verify_per_s => $verify + 0,
             ecdsap256_verify_us => 1e6 / $verify };
}

# Once more, between phases: the machine's speed drifts over a run (this
# figure moved between 59 and 72 us across one afternoon's runs), so the
# baseline of (f) is the median of measurements spread over the run, as
# (f)'s own figure is a median of rounds spread over it.
sub openssl_speed_again {
    my $o = $R{openssl};
    return unless $o && $o->{status} eq 'measured';
    my $again = openssl_speed();
    return unless $again->{status} eq 'measured';
    push @{$o->{runs_verify_us}}, $again->{ecdsap256_verify_us};
    push @{$o->{runs_sign_per_s}}, $again->{ecdsap256_sign_per_s};
    $o->{ecdsap256_verify_us} = median(@{$o->{runs_verify_us}});
    $o->{ecdsap256_verify_per_s} = 1e6 / $o->{ecdsap256_verify_us};
    $o->{ecdsap256_sign_per_s} = median(@{$o->{runs_sign_per_s}});
}

# ---------------------------------------------------------------------
# nginx worker RSS growth with N distinct cached tokens.

sub rss_test {
    my $s = $SCEN{f};
    return { status => 'not run', why => 'not selected (--only)' }
        if $s->{skip};
    return { status => 'not available', why => $AVAIL{jwt}{why} }
        unless available($s);
    my $n = $opt{rss_tokens};
    my $need = $n / (($R{openssl}{ecdsap256_verify_per_s} || 10000) * 0.5)
               + 30;
    return { status => 'not run', why => 'time budget' } if left() < $need;

    my $prefix = "$DIR/rss";
    # Room for every entry: were the zone too small, eviction would cap
    # the growth and the figure would flatter the module.
    my $inst = start_nginx(name => 'rss', workers => 1, module => 1,
        http => wid_http(blocks => { jwt => 1 }, PREFIX => $prefix,
                         CACHE_SIZE => '256m'),
        ports => [$PORT{E}]);
    my ($wpid) = workers_of($inst);
    my $phase = { workers => 1 };
    mint_tokens("$DIR/tokens/rss-warm.txt", 500, 'rss-warm');
    mint_tokens("$DIR/tokens/rss.txt", $n, 'rss');

    my %a = lg_args($s, $phase);
    delete $a{duration};
    my $warm = loadgen(%a, tokens => "$DIR/tokens/rss-warm.txt",
                       requests => 500);
    sleep 0.2;
    my $before = vmrss_kib($wpid);
    my $c0 = worker_cpu_ns($inst);
    my $fill = loadgen(%a, tokens => "$DIR/tokens/rss.txt", requests => $n);
    my $c1 = worker_cpu_ns($inst);
    sleep 0.2;
    my $after = vmrss_kib($wpid);

    # Were they cached?  Replay a sample: hits must cost far less CPU than
    # the misses that filled the cache.
    my @all = split /\n/, slurp("$DIR/tokens/rss.txt");
    my $k = @all < 5000 ? scalar @all : 5000;
    return { status => 'failed', why => 'no tokens minted' } unless $k;
    my $step = int(@all / $k) || 1;
    spit("$DIR/tokens/rss-replay.txt",
         join("\n", map { $all[$_ * $step] } 0 .. $k - 1) . "\n");
    my $c2 = worker_cpu_ns($inst);
    my $replay = loadgen(%a, tokens => "$DIR/tokens/rss-replay.txt",
                         requests => $k);
    my $c3 = worker_cpu_ns($inst);
    stop_nginx($inst);
    unlink glob("$DIR/tokens/rss*.txt");

    my $miss_us = $fill->{requests} ? ($c1 - $c0) / 1e3 / $fill->{requests}
                                    : undef;
    my $hit_us = $replay->{requests} ? ($c3 - $c2) / 1e3 / $replay->{requests}
                                     : undef;
    my $ok_fill = $fill->{status}{'2xx'} == $n && !$fill->{errors}{total};
    my $cached = defined $miss_us && defined $hit_us && $hit_us < 0.5 * $miss_us;
    return {
        status => 'measured', tokens => $n, warmup_tokens => 500,
        vmrss_before_kib => $before, vmrss_after_kib => $after,
        growth_mib => ($after - $before) / 1024,
        fill_2xx => $fill->{status}{'2xx'}, fill_errors => $fill->{errors}{total},
        fill_non_2xx => $fill->{non_2xx}, fill_rps => $fill->{rps},
        miss_worker_us_per_req => $miss_us, replay_worker_us_per_req => $hit_us,
        replay_2xx => $replay->{status}{'2xx'}, all_served => $ok_fill ? 1 : 0,
        cached => $cached ? 1 : 0, cache_zone => '256m',
    };
}

# ---------------------------------------------------------------------
# Component benchmarks of the other parts: make targets that print one
# JSON object on their last line of output.

my @SUBS = (
    { id => 'g', target => 'bench-journal', title => 'journal appends',
      key => 'appends_per_s', text => qr/(\d[\d,.]*)\s*appends?\/s/i },
    { id => 'h', target => 'bench-policy', title => 'policy decisions',
      key => 'ns_per_decision', text => qr/([\d.]+)\s*ns\/decision/ },
    { id => 'i', target => 'bench-ssh',
      title => 'helper issuance and one principals run' },
    { id => 'identity', target => 'bench-identity',
      title => 'SVID verification (identity core)' },
);
{
    my %known = map { $_->{id} => 1 } @SCEN, @SUBS;
    my @bad = grep { !$known{$_} } sort keys %ONLY;
    die "bench: --only: unknown id(s) @bad; known: "
        . join(',', (map { $_->{id} } @SCEN, @SUBS)) . "\n" if @bad;
}

sub sub_bench {
    my ($sb, $until) = @_;
    # Is there such a target?  (Read the Makefile: `make -n` would still
    # run the recursive makes of its prerequisites.)
    my $mk = join '', map { slurp($_) } "$ROOT/Makefile", glob("$ROOT/mk/*.mk");
    return { status => 'not available',
             why => "no make target $sb->{target} yet" }
        unless $mk =~ /^\Q$sb->{target}\E\s*:/m;
    my ($rc, $out);
    my $limit = $until - time;
    $limit = 120 if $limit > 120;
    return { status => 'not run', why => 'time budget' } if $limit < 10;
    my $t = time;
    ($rc, $out) = run_cmd('timeout', int($limit), 'make', '-s',
                          '--no-print-directory', '-C', $ROOT,
                          $sb->{target});
    my $secs = time - $t;
    my @lines = grep { /\S/ } split /\n/, $out;
    my $tail = join "\n", @lines[($#lines > 11 ? $#lines - 11 : 0) .. $#lines];
    return { status => 'failed', why => "timed out after ${\ int($limit)} s",
             output_tail => $tail, seconds => $secs } if $rc == 124;
    my %res = (seconds => $secs, exit => $rc);
    my $obj = eval { decode_json($lines[-1] // '') };
    if (ref $obj eq 'HASH') {
        return { %res, status => 'measured', json => $obj };
    }
    # The contract is one JSON object on the last line; until a component
    # follows it, its known text line is read instead, and said so.
    if ($sb->{text} && $out =~ $sb->{text}) {
        (my $v = $1) =~ s/,//g;
        return { %res, status => 'measured', output_tail => $tail,
                 json => { $sb->{key} => $v + 0,
                           parsed_from => 'text output' } };
    }
    return { %res, status => $rc ? 'failed' : 'measured (text only)',
             why => ($rc ? "exit $rc; " : '')
                    . 'last line of output is not a JSON object',
             output_tail => $tail };
}

# First numeric value whose key matches, anywhere in a JSON object.
sub find_num {
    my ($obj, $re) = @_;
    if (ref $obj eq 'HASH') {
        for my $k (sort keys %$obj) {
            my $v = $obj->{$k};
            return ($k, $v + 0) if !ref $v && $k =~ $re
                && defined $v && $v =~ /^-?[\d.]+(e[-+]?\d+)?$/i;
        }
        for my $k (sort keys %$obj) {
            my @r = find_num($obj->{$k}, $re);
            return @r if @r;
        }
    } elsif (ref $obj eq 'ARRAY') {
        for (@$obj) {
            my @r = find_num($_, $re);
            return @r if @r;
        }
    }
    return ();
}

# ---------------------------------------------------------------------
# Targets

# A figure computed per round from a scenario's run and its baseline's
# run of the same round; returns (median, min, max) over the rounds.
sub paired {
    my ($e, $base, $f) = @_;
    my @v;
    my @er = @{$e->{runs} || []};
    my @br = @{$base->{runs} || []};
    for my $i (0 .. ($#er < $#br ? $#er : $#br)) {
        my $v = eval { $f->($er[$i], $br[$i]) };
        push @v, $v if defined $v;
    }
    my @sorted = sort { $a <=> $b } @v;
    return (median(@v), $sorted[0], $sorted[-1]);
}

# Shown beside a target judged against a same-request baseline (a_*):
# the same figure against (a), whose requests carry no token.  Not judged.
sub headerless {
    my ($p, $s, $e, $t) = @_;
    my $base = $SCEN{$s->{base}}{base} or return;
    my $a = $p->{scen}{$base};
    return unless $a && ($a->{status} // '') eq 'measured';
    $t->{headerless_base} = $base;
    if ($s->{target}) {
        ($t->{headerless_throughput}) = paired($e, $a, sub {
            $_[0]{rps} / $_[1]{rps} });
        ($t->{headerless_cpu}) = paired($e, $a, sub {
            $_[1]{worker_cpu_us_per_req} / $_[0]{worker_cpu_us_per_req} });
    } else {
        ($t->{headerless_added_us}) = paired($e, $a, sub {
            $_[0]{worker_cpu_us_per_req} - $_[1]{worker_cpu_us_per_req} });
    }
}

sub judge {
    my @t;
    my $ph = $R{phases} || {};
    for my $w (sort keys %$ph) {
        my $p = $ph->{$w};
        for my $s (@SCEN) {
            next unless $s->{target} || $s->{cpu_target};
            my $e = $p->{scen}{$s->{id}} or next;
            my $b = $p->{scen}{$s->{base}};
            my %t = (id => $s->{id}, workers => $w + 0);
            if ($s->{target}) {
                $t{target} = sprintf('(%s) >= %.2f x (%s)', $s->{id},
                                     $s->{target}, $s->{base});
            } else {
                $t{target} = sprintf('(f) added worker CPU per request <= '
                                     . '%.2f x raw ES256 verify', $s->{cpu_target});
            }
            if (($e->{status} // '') ne 'measured') {
                @t{qw(verdict why)} = ('not available',
                                       $e->{why} // $e->{status});
            } elsif (!$b || ($b->{status} // '') ne 'measured') {
                @t{qw(verdict why)} = ('not available',
                                       "baseline ($s->{base}) not measured");
            } elsif ($e->{non_2xx} || $e->{errors}
                     || $b->{non_2xx} || $b->{errors}) {
                @t{qw(verdict why)} = ('FAIL', "non-2xx or errors: "
                    . "$e->{non_2xx}/$e->{errors} (scenario), "
                    . "$b->{non_2xx}/$b->{errors} (baseline)");
            } elsif ($s->{target}) {
                my ($thr, $thr_lo, $thr_hi) = paired($e, $b, sub {
                    $_[0]{rps} / $_[1]{rps} });
                my ($cpu, $cpu_lo, $cpu_hi) = paired($e, $b, sub {
                    $_[1]{worker_cpu_us_per_req}
                    / $_[0]{worker_cpu_us_per_req} });
                $t{throughput_range} = [$thr_lo, $thr_hi];
                $t{cpu_range} = [$cpu_lo, $cpu_hi];
                my $sat = ($e->{median}{worker_util} // 0) >= 0.9
                          && ($b->{median}{worker_util} // 0) >= 0.9;
                # Throughput decides when nginx was the bottleneck in both
                # runs; otherwise the client or other load capped both and
                # the throughput ratio says little: the ratio of worker
                # CPU per request (nginx's capacity) decides instead.
                $t{throughput_ratio} = $thr;
                $t{cpu_ratio} = $cpu;
                $t{basis} = $sat ? 'throughput' : 'worker CPU per request';
                $t{value} = $sat ? $thr : $cpu;
                $t{verdict} = $t{value} >= $s->{target} ? 'pass' : 'FAIL';
                headerless($p, $s, $e, \%t);
            } else {
                my $v = $R{openssl}{ecdsap256_verify_us};
                my ($added, $lo, $hi) = paired($e, $b, sub {
                    $_[0]{worker_cpu_us_per_req}
                    - $_[1]{worker_cpu_us_per_req} });
                $t{added_range} = [$lo, $hi];
                if (!$v) {
                    @t{qw(verdict why)} = ('not available',
                                           'openssl speed failed');
                } else {
                    $t{added_us} = $added;
                    $t{raw_verify_us} = $v;
                    $t{value} = $added / $v;
                    $t{basis} = 'worker CPU per request';
                    $t{verdict} = $t{value} <= $s->{cpu_target}
                                  ? 'pass' : 'FAIL';
                    headerless($p, $s, $e, \%t);
                }
            }
            push @t, \%t;
        }
    }

    # RSS growth.
    my $rss = $R{rss} || {};
    my %t = (id => 'rss', target => 'nginx worker RSS growth <= 16 MiB with '
             . "$opt{rss_tokens} distinct cached tokens");
    if (($rss->{status} // '') ne 'measured') {
        @t{qw(verdict why)} = ($rss->{status} // 'not available',
                               $rss->{why} // '');
    } elsif (!$rss->{all_served}) {
        @t{qw(verdict why)} = ('FAIL', "not every token was served "
            . "($rss->{fill_2xx} 2xx, $rss->{fill_errors} errors)");
    } elsif (!$rss->{cached}) {
        @t{qw(verdict why)} = ('FAIL', 'tokens were not retained in the '
            . 'cache (replay cost as much as the misses)');
    } else {
        $t{value} = $rss->{growth_mib};
        $t{verdict} = $t{value} <= 16 ? 'pass' : 'FAIL';
    }
    if ($opt{rss_tokens} != 100000 && $t{verdict} =~ /pass|FAIL/) {
        $t{why} = "measured with $opt{rss_tokens} tokens, not 100,000: "
                  . 'no verdict on the target';
        $t{verdict} = 'not available';
    }
    push @t, \%t;

    # Component targets.
    my %comp = (
        g => ['(g) journal appends >= 200,000/s',
              qr/append.*(per_s|per_sec|_s$|rate)/i, sub { $_[0] >= 200000 },
              'appends/s'],
        h => ['(h) policy decision <= 1 us',
              qr/^(ns_per_decision|decision_ns|ns_per_op|ns)$/i,
              sub { $_[0] <= 1000 }, 'ns'],
    );
    for my $id (sort keys %comp) {
        my ($title, $re, $ok, $unit) = @{$comp{$id}};
        my $c = $R{components}{$id} || {};
        my %ct = (id => $id, target => $title);
        if (($c->{status} // '') ne 'measured') {
            @ct{qw(verdict why)} = (($c->{status} // '') eq 'not run'
                                    ? 'not run' : 'not available',
                                    $c->{why} // 'not run');
        } else {
            my ($k, $v) = find_num($c->{json}, $re);
            if (!defined $v) {
                @ct{qw(verdict why)} = ('not available',
                    "no figure in its JSON matches $re");
            } else {
                @ct{qw(value key unit)} = ($v, $k, $unit);
                $ct{verdict} = $ok->($v) ? 'pass' : 'FAIL';
            }
        }
        push @t, \%ct;
    }
    push @t, judge_ssh();
    push @t, judge_identity();
    return \@t;
}

# Issue 3: JWT-SVID verification against the raw signature verify of the
# same primitive.  The verdict is on the in-process baseline (the same
# token's digest and public-key verify, interleaved with the JWT-SVID
# runs, best of 25 rounds each); `openssl speed` in the same run is shown
# beside it.
sub judge_identity {
    my $c = $R{components}{identity} || {};
    my @t;
    for my $alg (qw(ES256 RS256 PS256)) {
        my %t = (id => 'identity', digits => 3, unit => 'x raw',
                 target => "(3) JWT-SVID $alg verify <= 1.15 x the raw "
                           . 'signature verify');
        my $j = ($c->{json} && $c->{json}{jwt}) ? $c->{json}{jwt}{$alg} : undef;
        if (($c->{status} // '') ne 'measured' || !$j) {
            @t{qw(verdict why)} = (($c->{status} // '') eq 'not run'
                                   ? 'not run' : 'not available',
                                   $c->{why} // 'no figures');
        } else {
            $t{value} = $j->{ratio_raw};
            $t{basis} = sprintf('CPU time: %.2f us against %.2f us in process '
                                . '(median of round ratios %.3f); openssl '
                                . 'speed %.2f us, ratio %.3f',
                                $j->{verify_us}, $j->{raw_us},
                                $j->{ratio_raw_median}, $j->{speed_us},
                                $j->{ratio_speed});
            $t{verdict} = $j->{ratio_raw} <= 1.15 ? 'pass' : 'FAIL';
        }
        push @t, \%t;
    }
    return @t;
}

# (i): the SSH helper (issue 7).  Issuance is judged on certificates per
# second of the daemon's own CPU time ("on one core"); one principals run
# on its median wall time through the daemon, shown beside /bin/true and
# a do-nothing program loading the same libraries, measured in the same
# loop, so that a figure from a loaded machine can be read.
sub judge_ssh {
    my $c = $R{components}{i} || {};
    my $j = $c->{json} || {};
    my @t = (
        { id => 'i', digits => 0, unit => 'certs/CPU-s',
          target => '(i) helper issuance through serve >= 1,000 '
                    . 'certificates per second of one core',
          key => 'issue_certs_per_cpu_s', ok => sub { $_[0] >= 1000 } },
        { id => 'i', digits => 2, unit => 'ms',
          target => '(i) one principals run (through serve), median <= 5 ms',
          key => 'principals_via_serve_median_ms', ok => sub { $_[0] <= 5 } },
    );
    for my $t (@t) {
        my ($key, $ok) = delete @$t{qw(key ok)};
        if (($c->{status} // '') ne 'measured') {
            @$t{qw(verdict why)} = ($c->{status} && $c->{status} eq 'not run'
                                    ? 'not run' : 'not available',
                                    $c->{why} // 'not run');
            next;
        }
        my $v = $j->{$key};
        if (!defined $v || $v !~ /^[\d.]+(e[-+]?\d+)?$/i) {
            @$t{qw(verdict why)} = ('not available',
                                    "no $key in bench-ssh's JSON");
            next;
        }
        @$t{qw(value key)} = ($v + 0, $key);
        $t->{verdict} = $ok->($v) ? 'pass' : 'FAIL';
        if ($key eq 'issue_certs_per_cpu_s') {
            $t->{basis} = sprintf('daemon CPU time, journal_fsync interval; '
                . '%.0f/s wall; fsync always %.0f/CPU-s',
                $j->{issue_certs_per_s} // 0,
                $j->{issue_fsync_always_certs_per_cpu_s} // 0);
        } else {
            my $tru = $j->{principals_via_serve_baseline_true_median_ms};
            my $triv = $j->{principals_via_serve_baseline_trivial_median_ms};
            my $st = $j->{principals_static_via_serve_median_ms};
            $t->{basis} = sprintf('wall; CPU %.2f ms; same loop: /bin/true '
                . '%.2f ms (%.1f x), same-libraries no-op %s ms, '
                . 'HELPER_STATIC %s ms; load %.1f',
                $j->{principals_via_serve_cpu_median_ms} // 0, $tru // 0,
                $tru ? $v / $tru : 0, fmt($triv), fmt($st),
                $j->{loadavg_1min} // 0);
        }
    }
    return @t;
}

# ---------------------------------------------------------------------
# perf profile of the nginx worker for a scenario whose target failed.

sub profile_scenario {
    my ($s) = @_;
    my (undef, $has) = run_cmd('sh', '-c', 'command -v perf');
    return { status => 'not available', why => 'perf not installed' }
        unless $has =~ /perf/;
    my $phase = { workers => 1 };
    my %blocks = ($s->{block} ? ($s->{block} => 1) : ());
    my $inst = $s->{inst} eq 'wid'
        ? start_nginx(name => "prof-$s->{id}", workers => 1, module => 1,
                      http => wid_http(blocks => \%blocks,
                                       PREFIX => "$DIR/prof-$s->{id}"),
                      ports => [$PORT{$s->{port}}])
        : start_nginx(name => "prof-$s->{id}", workers => 1,
                      http => conf_file('stock.conf'),
                      ports => [$PORT{A}, $PORT{B}]);
    my ($wpid) = workers_of($inst);
    my $data = "$DIR/perf-$s->{id}.data";
    my %extra;
    if ($s->{tokens}) {
        my $n = ceil(($R{openssl}{ecdsap256_verify_per_s} || 20000)
                     * $opt{duration} * 1.25);
        mint_tokens("$DIR/tokens/prof.txt", $n, 'prof');
        $extra{tokens} = "$DIR/tokens/prof.txt";
    }
    loadgen(lg_args($s, $phase), duration => 0.3) unless $s->{tokens};
    my $pp = fork // die "fork: $!";
    if ($pp == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        # DWARF unwinding: nginx and the module have no frame pointers.
        exec 'perf', 'record', '-F', '499', '--call-graph', 'dwarf,8192',
            '-p', $wpid, '-o', $data, '--', 'sleep', $opt{duration};
        exit 127;
    }
    loadgen(lg_args($s, $phase), %extra);
    waitpid($pp, 0);
    stop_nginx($inst);
    # Where the worker's time goes, by library; then the module's own
    # functions with what they call (inclusive), which names the culprit.
    my ($rc, $out) = run_cmd('perf', 'report', '-i', $data, '--stdio',
        '--no-children', '--sort', 'dso', '-g', 'none',
        '--percent-limit', '0.5');
    my @dso = grep { /^\s+\d+\.\d+%/ } split /\n/, $out;
    my ($rc2, $out2) = run_cmd('perf', 'report', '-i', $data, '--stdio',
        '--children', '--sort', 'dso,sym', '-g', 'none',
        '--percent-limit', '0.3');
    my @mod = grep { /^\s+\d+\.\d+%/ && /wid_module/ } split /\n/, $out2;
    splice @mod, 20 if @mod > 20;
    unlink $data unless $opt{keep};
    return { status => $rc || $rc2 ? 'failed' : 'measured',
             command => "perf record -F 499 --call-graph dwarf -p <worker> "
                        . "during a $opt{duration} s run of ($s->{id})",
             by_dso => \@dso, module_inclusive => \@mod };
}

# ---------------------------------------------------------------------
# Output

sub fmt {
    my ($v, $d) = @_;
    return '-' unless defined $v;
    return sprintf("%.${\($d // 2)}f", $v);
}

# (i) in detail: issuance, then one principals run per set-up beside its
# baselines from the same loop.
sub ssh_section {
    my $j = ($R{components}{i} || {})->{json} or return '';
    my $md = "### (i) SSH helper (`make bench-ssh`)\n\n"
        . sprintf("Issuance through `serve` (%d requests, daemon pinned to "
                  . "core 0): %.0f certificates per daemon CPU second, "
                  . "%.0f/s wall (journal_fsync interval); %.0f per CPU "
                  . "second, %.0f/s wall with journal_fsync always.  Load "
                  . "average %.1f.\n\n", $j->{issue_n} // 0,
                  $j->{issue_certs_per_cpu_s} // 0,
                  $j->{issue_certs_per_s} // 0,
                  $j->{issue_fsync_always_certs_per_cpu_s} // 0,
                  $j->{issue_fsync_always_certs_per_s} // 0,
                  $j->{loadavg_1min} // 0);
    my $rows = '';
    for my $r (['through serve, daemon fsync interval', 'via_serve'],
               ['through serve, daemon fsync always',
                'via_serve_fsync_always'],
               ['through serve, 250 ms of quiet before each',
                'via_serve_after_idle'],
               ['own writer log, fsync always', 'own_writer_fsync_always'],
               ['own writer log, fsync never', 'own_writer_fsync_never']) {
        my ($name, $k) = @$r;
        my $p = "principals_$k";
        next unless defined $j->{"${p}_median_ms"};
        my $tru = $j->{"${p}_baseline_true_median_ms"};
        $rows .= sprintf("| %s | %s (%s) | %s | %s | %s | %s | %s |\n", $name,
                       fmt($j->{"${p}_median_ms"}), fmt($j->{"${p}_p90_ms"}),
                       fmt($j->{"${p}_cpu_median_ms"}), fmt($tru),
                       fmt($j->{"${p}_baseline_trivial_median_ms"}),
                       $tru ? fmt($j->{"${p}_median_ms"} / $tru, 1) : '-',
                       fmt($j->{"principals_static_${k}_median_ms"}));
    }
    $md .= "One `principals` run, spawn to exit, medians of "
        . ($j->{principals_runs} // '?') . " runs (after quiet: 16); the "
        . "commands of a row ran in turn, in the same loop:\n\n"
        . "| set-up | principals ms (p90) | CPU ms | /bin/true ms | "
        . "same-libraries no-op ms | x /bin/true | HELPER_STATIC ms |\n"
        . "|---|---|---|---|---|---|---|\n$rows\n" if $rows;
    return $md;
}

sub write_results {
    my $targets = $R{targets};
    my $npass = grep { $_->{verdict} eq 'pass' } @$targets;
    $R{summary} = {
        targets => scalar @$targets, pass => $npass,
        fail => scalar(grep { $_->{verdict} eq 'FAIL' } @$targets),
        not_available => scalar(grep { $_->{verdict} !~ /pass|FAIL/ }
                                @$targets),
        all_pass => $npass == @$targets ? JSON::PP::true : JSON::PP::false,
    };
    $R{seconds} //= elapsed();
    make_path($opt{out});
    spit("$opt{out}/results.json", $json->encode(\%R));

    my $m = $R{machine};
    my $md = "# wid benchmark results\n\n"
        . "Written by `make bench` (bench/run.pl); bench/README.md says how "
        . "to read it.\nDo not edit: the analysis below comes from "
        . "bench/NOTES.md.\n\n";
    $md .= "| | |\n|---|---|\n";
    $md .= "| date (UTC) | $m->{date_utc} |\n"
        . "| CPU | $m->{cpu_model}, $m->{cores} cores"
        . ($m->{hypervisor} ne 'none' ? " ($m->{hypervisor} guest)" : '')
        . " |\n| kernel | $m->{kernel} |\n| nginx | $m->{nginx} |\n"
        . "| OpenSSL | $m->{openssl} |\n"
        . "| load average at start | $m->{load_at_start} |\n"
        . "| runs | $opt{runs} x $opt{duration} s per scenario, medians; "
        . "keepalive $opt{conns} connections, new-connection mode "
        . "$opt{new_conns} |\n"
        . "| total time | ${\ sprintf('%.0f', $R{seconds})} s |\n\n";

    $md .= "## Targets (issue 9)\n\n"
        . "$R{summary}{pass} of $R{summary}{targets} met; "
        . "$R{summary}{fail} missed; $R{summary}{not_available} not "
        . "available yet or not run (never counted as met).\n\n"
        . "| target | workers | value | basis | verdict |\n"
        . "|---|---|---|---|---|\n";
    for my $t (@$targets) {
        my $val = defined $t->{value} ? fmt($t->{value},
            $t->{digits} // ($t->{id} =~ /^[gh]$/ ? 0 : 3)) : '-';
        $val .= " $t->{unit}" if $t->{unit} && defined $t->{value};
        $val .= " MiB" if $t->{id} eq 'rss' && defined $t->{value};
        my $basis = $t->{basis} // '';
        if (defined $t->{throughput_ratio}) {
            $basis .= sprintf('; throughput %.3f [%.3f-%.3f], CPU %.3f '
                              . '[%.3f-%.3f]', $t->{throughput_ratio},
                              @{$t->{throughput_range}}, $t->{cpu_ratio},
                              @{$t->{cpu_range}});
        }
        if (defined $t->{added_us}) {
            $basis .= sprintf('; added %.1f us [%.1f-%.1f] vs %.1f us',
                              $t->{added_us}, @{$t->{added_range}},
                              $t->{raw_verify_us});
        }
        if (defined $t->{headerless_throughput}) {
            $basis .= sprintf('; against (%s), no token sent: throughput '
                              . '%.3f, CPU %.3f', $t->{headerless_base},
                              $t->{headerless_throughput},
                              $t->{headerless_cpu});
        }
        if (defined $t->{headerless_added_us}) {
            $basis .= sprintf('; against (%s), no token sent: added %.1f us',
                              $t->{headerless_base},
                              $t->{headerless_added_us});
        }
        my $v = $t->{verdict} eq 'pass' ? 'pass'
              : $t->{verdict} eq 'FAIL' ? '**FAIL**'
              : $t->{verdict};
        $v .= ": $t->{why}" if $t->{why};
        $md .= "| $t->{target} | " . ($t->{workers} // '') . " | $val | "
            . "$basis | $v |\n";
    }
    $md .= "\n";

    for my $w (sort keys %{$R{phases} || {}}) {
        my $p = $R{phases}{$w};
        $md .= "## Scenarios, $w worker" . ($w > 1 ? 's' : '') . "\n\n";
        $md .= $w == 1
            ? "nginx worker pinned to core 0, load generator to core 1"
              . ($opt{spin} ? ", polling for events (`--spin`)" : '')
              . ".\n\n"
            : "Workers on cores 0 and 1; the load generator (2 threads) "
              . "shares them, so worker CPU per request is the telling "
              . "figure.\n\n";
        $md .= "| scenario | req/s (median) | min-max | ratio | worker CPU "
            . "us/req | worker util | worker wait | client CPU | p50 / p99 ms "
            . "| non-2xx | errors |\n"
            . "|---|---|---|---|---|---|---|---|---|---|---|\n";
        for my $s (@SCEN) {
            my $e = $p->{scen}{$s->{id}} or next;
            my $name = "($s->{id}) $s->{title}";
            if (($e->{status} // '') ne 'measured') {
                $md .= "| $name | $e->{status}: $e->{why} ||||||||||\n";
                next;
            }
            my $b = $s->{base} ? $p->{scen}{$s->{base}} : undef;
            my $ratio = $b && ($b->{status} // '') eq 'measured'
                ? fmt((paired($e, $b, sub { $_[0]{rps} / $_[1]{rps} }))[0],
                      3) . " x ($s->{base})" : '-';
            my $mm = $e->{median};
            $md .= sprintf("| %s | %.0f | %.0f-%.0f | %s | %s | %s | %s | "
                           . "%s | %s / %s | %d | %d |\n", $name, $mm->{rps},
                           $e->{rps_min}, $e->{rps_max}, $ratio,
                           fmt($mm->{worker_cpu_us_per_req}, 1),
                           fmt($mm->{worker_util}), fmt($mm->{worker_wait}),
                           fmt($mm->{cpu_util}), fmt($mm->{p50_ms}, 3),
                           fmt($mm->{p99_ms}, 3), $e->{non_2xx},
                           $e->{errors});
        }
        $md .= "\n";
        if (my $tls = (grep { $_->{tls} } values %{$p->{scen}})[0]) {
            $md .= "TLS: $tls->{tls}.\n\n";
        }
        if (my $c = $p->{wrk}) {
            $md .= "### Load generator against wrk, scenario (a)\n\n";
            if ($c->{status} eq 'measured') {
                $md .= sprintf("| client | req/s | nginx worker util | "
                    . "worker CPU us/req | client CPU |\n|---|---|---|---|---|\n"
                    . "| wrk -t1 -c%d | %.0f | %s | %s | - |\n"
                    . "| loadgen -t1 -c%d | %.0f | %s | %s | %s |\n\n"
                    . "loadgen / wrk = %.3f.\n\n",
                    $opt{conns}, $c->{wrk}{rps}, fmt($c->{wrk}{worker_util}),
                    fmt($c->{wrk}{worker_cpu_us_per_req}, 1), $opt{conns},
                    $c->{loadgen}{rps}, fmt($c->{loadgen}{worker_util}),
                    fmt($c->{loadgen}{worker_cpu_us_per_req}, 1),
                    fmt($c->{loadgen}{cpu_util}), $c->{ratio} // 0);
            } else {
                $md .= "$c->{status}: $c->{why}\n\n";
            }
        }
    }

    my $o = $R{openssl} || {};
    $md .= "## Raw crypto, same run\n\n";
    $md .= $o->{status} && $o->{status} eq 'measured'
        ? sprintf("`%s`: ECDSA P-256 sign %.0f/s, verify %.0f/s "
                  . "(%.1f us per verify%s).\n\n", $o->{command},
                  $o->{ecdsap256_sign_per_s}, $o->{ecdsap256_verify_per_s},
                  $o->{ecdsap256_verify_us},
                  @{$o->{runs_verify_us} || []} > 1
                  ? sprintf("; median of %d runs, one before and one after "
                            . "each phase: %s us",
                            scalar @{$o->{runs_verify_us}},
                            join(', ', map { sprintf('%.1f', $_) }
                                 @{$o->{runs_verify_us}}))
                  : '')
        : "openssl speed: " . ($o->{status} // 'not run') . "\n\n";

    my $r = $R{rss} || {};
    $md .= "## Worker memory with distinct cached tokens\n\n";
    if (($r->{status} // '') eq 'measured') {
        $md .= sprintf("%d distinct ES256 tokens (cache zone %s): worker "
            . "VmRSS %d KiB before, %d KiB after, growth %.2f MiB; %d "
            . "served (2xx), %d errors.  Replay of a sample: %.1f us/req "
            . "against %.1f us/req for the misses (%s).\n\n",
            $r->{tokens}, $r->{cache_zone}, $r->{vmrss_before_kib},
            $r->{vmrss_after_kib}, $r->{growth_mib}, $r->{fill_2xx},
            $r->{fill_errors}, $r->{replay_worker_us_per_req} // 0,
            $r->{miss_worker_us_per_req} // 0,
            $r->{cached} ? 'cached' : 'NOT cached');
    } else {
        $md .= ($r->{status} // 'not run') . ": " . ($r->{why} // '') . "\n\n";
    }

    $md .= "## Component benchmarks (g), (h), (i)\n\n"
        . "| | make target | status | figures (last JSON line) |\n"
        . "|---|---|---|---|\n";
    for my $sb (@SUBS) {
        my $c = $R{components}{$sb->{id}} || {};
        my $fig = $c->{json} ? JSON::PP->new->canonical->encode($c->{json})
                             : ($c->{why} // '');
        $fig =~ s/\|/\\|/g;
        $fig = substr($fig, 0, 600) . '...' if length $fig > 600;
        $fig .= " (exit $c->{exit})" if $c->{exit};
        $md .= "| ($sb->{id}) $sb->{title} | `$sb->{target}` | "
            . ($c->{status} // 'not run') . " | $fig |\n";
    }
    $md .= "\n" . ssh_section();
    for my $sb (@SUBS) {
        my $c = $R{components}{$sb->{id}} || {};
        next unless $c->{output_tail};
        $md .= "Output of `make $sb->{target}` (last lines):\n\n```\n"
            . "$c->{output_tail}\n```\n\n";
    }

    if ($R{profiles} && %{$R{profiles}}) {
        $md .= "## Profiles of missed targets\n\n";
        for my $id (sort keys %{$R{profiles}}) {
            my $p = $R{profiles}{$id};
            $md .= "### ($id)\n\n";
            if ($p->{status} eq 'measured') {
                $md .= "$p->{command}.  Worker time by library (self):"
                    . "\n\n```\n" . join("\n", @{$p->{by_dso}})
                    . "\n```\n\nThe module's functions, inclusive of what "
                    . "they call (children, self):\n\n```\n"
                    . join("\n", @{$p->{module_inclusive}}) . "\n```\n\n";
            } else {
                $md .= "$p->{status}: " . ($p->{why} // '') . "\n\n";
            }
        }
    }

    if (@{$R{notes}}) {
        $md .= "## Run notes\n\n" . join('', map { "- $_\n" } @{$R{notes}})
            . "\n";
    }
    my $notes = slurp("$ROOT/bench/NOTES.md");
    if ($notes =~ /\S/) {
        $notes =~ s/^# .*\n+//;
        $notes =~ s/^(##+) /#$1 /mg;
        $md .= "## Analysis (bench/NOTES.md)\n\n$notes";
    }
    spit("$opt{out}/RESULTS.md", $md);
}

# ---------------------------------------------------------------------
# Main

if ($opt{render}) {
    my $old = decode_json(slurp("$opt{out}/results.json")
                          || die "bench: no $opt{out}/results.json\n");
    %R = %$old;
    $opt{$_} = $R{config}{$_} for keys %{$R{config}};
    $opt{spin} = $R{config}{spin} // 0;     # runs before the option slept
    write_results();
    say_("rewrote $opt{out}/RESULTS.md from results.json");
    exit 0;
}

$R{machine} = machine();
say_("machine: $R{machine}{cpu_model}, $NCPU cores, kernel "
     . "$R{machine}{kernel}, $R{machine}{nginx}, $R{machine}{openssl}");
note("load average at start is $R{machine}{load_at_start}: "
     . "other work shares the machine, so absolute figures are noisy; "
     . "ratios share the noise")
    if (split ' ', $R{machine}{load_at_start})[0] > 0.5;
if ($NGINX_RUN) {
    for ($LOADGEN, $JWTMINT) {
        -x $_ or die "bench: $_ is not built: run make bench\n";
    }
    setup_pki();
    $R{openssl} = openssl_speed();
    $R{openssl}{runs_verify_us} = [ $R{openssl}{ecdsap256_verify_us} ];
    $R{openssl}{runs_sign_per_s} = [ $R{openssl}{ecdsap256_sign_per_s} ];
    say_("openssl speed: ES256 verify "
         . fmt($R{openssl}{ecdsap256_verify_us}, 1) . " us");
    probe();
    $R{availability} = { map { ("wid_$_" => $AVAIL{$_}) } keys %AVAIL };
    say_("wid $_: " . ($AVAIL{$_}{ok} ? 'available' : $AVAIL{$_}{why}))
        for sort keys %AVAIL;
} else {
    note("--only $opt{only}: no nginx scenario selected, nginx not started");
}

# The component benchmarks first, each within its share of the budget,
# so that the nginx phases (which adapt their rounds) cannot starve them.
my $sub_budget = $T0 + 210;
for my $sb (@SUBS) {
    if ($opt{only} && !$ONLY{$sb->{id}}) {
        $R{components}{$sb->{id}} = { status => 'not run',
                                      why => 'not selected (--only)' };
        next;
    }
    $R{components}{$sb->{id}} = sub_bench($sb, $sub_budget);
    say_("$sb->{target}: $R{components}{$sb->{id}}{status}");
}

my @phases = $NGINX_RUN ? split /,/, $opt{workers} : ();
for my $k (0 .. $#phases) {
    my $w = $phases[$k];
    if (left() < 60) {
        note("$w worker(s) phase not run: time budget");
        next;
    }
    $R{phases}{$w} = phase($w, $#phases - $k);
    openssl_speed_again();
}

$R{rss} = rss_test();
say_("rss: " . ($R{rss}{status} eq 'measured'
                ? fmt($R{rss}{growth_mib}) . ' MiB' : $R{rss}{status}));

$R{targets} = judge();
if ($opt{profile}) {
    my %done;
    for my $t (@{$R{targets}}) {
        next unless $t->{verdict} eq 'FAIL' && $SCEN{$t->{id}};
        next if $done{$t->{id}}++;
        if (left() < $opt{duration} + 30) {
            note("no profile of ($t->{id}): time budget");
            next;
        }
        $R{profiles}{$t->{id}} = profile_scenario($SCEN{$t->{id}});
    }
}
write_results();
say_(sprintf("done in %.0f s: %d/%d targets met, %d missed, %d not "
             . "available; see bench/RESULTS.md", elapsed(),
             $R{summary}{pass}, $R{summary}{targets}, $R{summary}{fail},
             $R{summary}{not_available}));
exit 0;
