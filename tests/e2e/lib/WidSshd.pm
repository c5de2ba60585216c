package WidSshd;

# A real Debian sshd on 127.0.0.1 for the ssh-wid-helper end-to-end
# tests: host key, sshd_config, AuthorizedPrincipalsCommand, start, run
# the real ssh client, stop.  Everything lives in one temporary directory.
#
# Login user: when the tests run as root (CI), sshd runs as root and the
# tests log into a dedicated unprivileged account, "widssh" (created with
# useradd if absent, password field "*" so the account is usable for key
# logins but has no password; it is left in place for later runs).  When
# not root, sshd runs as the current user and can only log that user in.
# The AuthorizedPrincipalsCommand runs as "nobody" under root, else as the
# current user.
#
# sshd requires the AuthorizedPrincipalsCommand binary to be root-owned
# (or owned by the command user) with no group/world-writable directory
# above it, so the helper is copied into a temporary directory created
# under the first base directory whose whole chain is safe and searchable
# by the command user (the build directory, else /run).

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep);

our @EXPORT_OK = qw(run slurp spew repo_root helper_bin make_ca make_user_key
                    issue);

my $SSHD = '/usr/sbin/sshd';
my $SSH  = '/usr/bin/ssh';

sub repo_root { abs_path(dirname(__FILE__) . '/../../..') }

sub helper_bin {
    return $ENV{WID_SSH_HELPER} // repo_root() . '/build/bin/ssh-wid-helper';
}

sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or return '';
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s // '';
}

sub spew {
    my ($path, $text, $mode) = @_;
    open(my $fh, '>', $path) or die "$path: $!";
    print $fh $text;
    close $fh or die "$path: $!";
    chmod($mode, $path) if defined $mode;
}

# run(@argv) -> ($exit, $stdout, $stderr); no shell involved.
sub run {
    my (@argv) = @_;
    my $tmp = tempdir('wid-run-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>', "$tmp/out");
        open(STDERR, '>', "$tmp/err");
        { no warnings 'exec'; exec { $argv[0] } @argv; }
        print STDERR "exec $argv[0]: $!\n";
        POSIX::_exit(127);
    }
    waitpid($pid, 0);
    my $code = $? & 127 ? 128 + ($? & 127) : $? >> 8;
    my ($out, $err) = (slurp("$tmp/out"), slurp("$tmp/err"));
    remove_tree($tmp);
    return ($code, $out, $err);
}

# Every directory from path up to / is owned by root (or us) and not
# writable by group or others (sshd's safe_path rule), and searchable by
# others: sshd stats and runs the command as AuthorizedPrincipalsCommandUser
# (nobody when we are root), which cannot pass a 0700 /root.
sub safe_chain {
    my ($path) = @_;
    my $p = abs_path($path) // return 0;
    while (1) {
        my @st = lstat($p) or return 0;
        return 0 if ($st[4] != 0 && $st[4] != $<) || ($st[2] & 022);
        return 0 if $< == 0 && !($st[2] & 001);
        last if $p eq '/';
        $p = dirname($p);
    }
    return 1;
}

sub login_user {
    return $ENV{WID_SSH_USER} if $ENV{WID_SSH_USER};
    return scalar getpwuid($<) if $< != 0;
    my $u = 'widssh';
    if (!defined getpwnam($u)) {
        my ($rc, undef, $err) = run('/usr/sbin/useradd', '-M', '-d',
                                    '/nonexistent', '-s', '/bin/sh',
                                    '-p', '*', $u);
        die "useradd $u failed: $err" if $rc != 0;
    }
    return $u;
}

# make_ca(DIR, NAME) -> (secret key path, OpenSSH public key path)
sub make_ca {
    my ($dir, $name) = @_;
    my ($rc, undef, $err) = run('/usr/bin/openssl', 'genpkey', '-algorithm',
                                'ed25519', '-out', "$dir/$name.key");
    die "openssl genpkey: $err" if $rc != 0;
    chmod(0600, "$dir/$name.key");
    ($rc, my $out, $err) = run(helper_bin(), 'pubkey', '--ca-key',
                               "$dir/$name.key");
    die "pubkey: $err" if $rc != 0;
    spew("$dir/$name.pub", $out, 0644);
    return ("$dir/$name.key", "$dir/$name.pub");
}

# make_user_key(DIR, NAME) -> private key path (NAME.pub beside it)
sub make_user_key {
    my ($dir, $name) = @_;
    my ($rc, undef, $err) = run('/usr/bin/ssh-keygen', '-q', '-t', 'ed25519',
                                '-N', '', '-C', $name, '-f', "$dir/$name");
    die "ssh-keygen: $err" if $rc != 0;
    return "$dir/$name";
}

# issue(ca_key => .., pubkey => .., principals => [..], ttl => N,
#       key_id => .., out => .., extra => [..]) -> ($exit, $stdout, $stderr)
sub issue {
    my (%o) = @_;
    my @argv = (helper_bin(), 'issue', '--ca-key', $o{ca_key},
                '--pubkey', $o{pubkey}, '--ttl', $o{ttl} // 300,
                '--key-id', $o{key_id} // 'spiffe://example.org/e2e receipt=t');
    push @argv, map { ('--principal', $_) } @{ $o{principals} // [] };
    push @argv, '--out', $o{out} if $o{out};
    push @argv, @{ $o{extra} // [] };
    return run(@argv);
}

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# Why the suite cannot run here, or undef.
sub unavailable {
    return "$SSHD not installed" unless -x $SSHD;
    return "$SSH not installed" unless -x $SSH;
    return 'ssh-wid-helper not built (run make)' unless -x helper_bin();
    return undef;
}

sub new {
    my ($class, %opt) = @_;
    my $base;
    for my $cand (grep { defined } $ENV{WID_E2E_SAFE_DIR},
                  repo_root() . '/build', '/run')
    {
        if (-d $cand && -w $cand && safe_chain($cand)) {
            $base = $cand;
            last;
        }
    }
    die "no directory with a safe parent chain for sshd" unless $base;
    my $dir = tempdir('wid-sshd-XXXXXX', DIR => $base,
                      CLEANUP => !$ENV{WID_KEEP});
    chmod(0755, $dir);
    mkdir("$dir/bin", 0755);
    copy(helper_bin(), "$dir/bin/ssh-wid-helper") or die "copy helper: $!";
    chmod(0755, "$dir/bin/ssh-wid-helper");

    my $self = bless {
        dir      => $dir,
        helper   => "$dir/bin/ssh-wid-helper",
        user     => login_user(),
        cmd_user => $< == 0 ? 'nobody' : scalar getpwuid($<),
        port     => free_port(),
        pid      => undef,
        %opt,
    }, $class;

    mkdir('/run/sshd', 0755) if $< == 0 && !-d '/run/sshd';
    my ($rc, undef, $err) = run('/usr/bin/ssh-keygen', '-q', '-t', 'ed25519',
                                '-N', '', '-f', "$dir/host_ed25519");
    die "host key: $err" if $rc != 0;
    return $self;
}

sub dir    { $_[0]{dir} }
sub port   { $_[0]{port} }
sub user   { $_[0]{user} }
sub helper { $_[0]{helper} }
sub log    { slurp("$_[0]{dir}/sshd.log") }

# Helper files the command user must be able to read (and log to).
sub write_helper_config {
    my ($self, %c) = @_;
    my $d = $self->{dir};
    my $log = "$d/helper.log";
    spew($log, '', 0644);
    if ($< == 0) {
        my (undef, undef, $uid, $gid) = getpwnam($self->{cmd_user});
        chown($uid, $gid, $log);
    }
    my $text = "# written by WidSshd\nca_pubkey $c{ca_pubkey}\n"
             . "krl $c{krl}\nlog $log\n" . ($c{extra_conf} // '');
    spew("$d/helper.conf", $text, 0644);
    return "$d/helper.conf";
}

sub helper_log { slurp("$_[0]{dir}/helper.log") }

# Hand files to the account the AuthorizedPrincipalsCommand runs as (the
# receipt key must be owned by the user reading it).
sub give_to_cmd_user {
    my ($self, @paths) = @_;
    return if $< != 0;
    my (undef, undef, $uid, $gid) = getpwnam($self->{cmd_user});
    chown($uid, $gid, @paths);
}

sub start {
    my ($self, %c) = @_;
    my $d = $self->{dir};
    my $conf = $self->write_helper_config(%c);
    my $cfg = <<"CFG";
Port $self->{port}
ListenAddress 127.0.0.1
HostKey $d/host_ed25519
PidFile $d/sshd.pid
TrustedUserCAKeys $c{ca_pubkey}
RevokedKeys $c{krl}
AuthorizedKeysFile none
AuthorizedPrincipalsCommand $self->{helper} principals --config $conf --user %u --type %t --cert %k --key-id %i --serial %s
AuthorizedPrincipalsCommandUser $self->{cmd_user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
LogLevel DEBUG3
CFG
    spew("$d/sshd_config", $cfg, 0644);

    my ($rc, undef, $err) = run($SSHD, '-t', '-f', "$d/sshd_config");
    die "sshd -t: $err" if $rc != 0;

    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>>', "$d/sshd.log");
        open(STDERR, '>>', "$d/sshd.log");
        { no warnings 'exec'; exec { $SSHD } $SSHD, '-D', '-e', '-f',
                                      "$d/sshd_config"; }
        POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    for (1 .. 200) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $self->{port},
                                      Proto => 'tcp');
        if ($s) {
            close $s;
            return $self;
        }
        if (waitpid($pid, WNOHANG) == $pid) {
            $self->{pid} = undef;
            die "sshd exited at start:\n" . $self->log;
        }
        sleep(0.05);
    }
    $self->stop;
    die "sshd did not listen on port $self->{port}:\n" . $self->log;
}

# ssh(key => PATH, cert => PATH, user => NAME, cmd => STRING)
sub ssh {
    my ($self, %o) = @_;
    my @argv = ($SSH, '-F', '/dev/null', '-p', $self->{port},
                '-i', $o{key}, '-o', "CertificateFile=$o{cert}",
                '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none',
                '-o', 'StrictHostKeyChecking=no',
                '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
                '-o', 'PasswordAuthentication=no', '-o', 'ConnectTimeout=10',
                '-o', 'LogLevel=ERROR',
                '-l', $o{user} // $self->{user}, '127.0.0.1',
                $o{cmd} // 'echo wid-login-ok');
    return run(@argv);
}

sub stop {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    kill('TERM', $pid);
    for (1 .. 100) {
        last if waitpid($pid, WNOHANG) == $pid;
        sleep(0.05);
    }
    if (kill(0, $pid)) {
        kill('KILL', $pid);
        waitpid($pid, 0);
    }
    $self->{pid} = undef;
}

sub DESTROY { $_[0]->stop }

1;
