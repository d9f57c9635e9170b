"""codeward-storeproxy under test: an S3 server (s3rver from npm, or a fake
one in this process), the proxy on a socketpair, and a client speaking its
fixed-size messages (storeproxy/proto.h)."""
import array
import hashlib
import os
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request

from cwtest import free_port  # noqa: F401  (the one picker of free ports)

BUILD = os.environ.get('CW_BUILD', 'build')
PROXY = os.path.join(BUILD, 'storeproxy', 'codeward-storeproxy')
S3RVER_DIR = os.environ.get('CODEWARD_S3RVER', '/var/cache/codeward/s3rver')
S3RVER_JS = os.path.join(S3RVER_DIR, 'node_modules', 's3rver', 'bin', 's3rver.js')
# s3rver's one key pair (lib/models/account.js)
ACCESS_KEY = 'S3RVER'
SECRET_KEY = 'S3RVER'

PUT, GET, HEAD, DELETE, LIST, REPLY = 1, 2, 3, 4, 5, 65
OK, UNREACHABLE, AUTH, NOT_FOUND, SERVER, BAD_ANSWER, LOCAL = range(7)

HDR = struct.Struct('<IIII')
META = struct.Struct('<64s256s16s72sQq')
REQ_SIZE = HDR.size + 64 + META.size
REPLY = 65
REP = struct.Struct('<IIII' + 'IIQ' + '64s256s16s72sQq' + '256s')
assert REQ_SIZE == 504 and REP.size == 712


def _die_with_parent():
    """in the child: SIGTERM when the test process ends, however it ends"""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG




def wait_port(port, proc=None, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError('server exited: %d' % proc.returncode)
        try:
            socket.create_connection(('127.0.0.1', port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError('server did not listen on %d' % port)


class S3rver:
    """s3rver on a free loopback port with one bucket. Missing: an error
    (the test fails, it never skips)."""

    def __init__(self, bucket='cw-test', tls=None):
        if not os.path.exists(S3RVER_JS):
            raise RuntimeError('s3rver is not installed at %s (./codeward '
                               'test installs it: scripts/client.sh)' % S3RVER_DIR)
        self.bucket = bucket
        self.dir = tempfile.mkdtemp(prefix='cw-s3rver-')
        self.port = free_port()
        self.proc = subprocess.Popen(
            # its LIST continuation tokens are DES, a legacy cipher in
            # OpenSSL 3: without the legacy provider a second page is a 500
            ['node', '--openssl-legacy-provider', S3RVER_JS, '-d', self.dir, '-a', '127.0.0.1',
             '-p', str(self.port), '-s', '--configure-bucket', bucket]
            + (['--key', tls[0], '--cert', tls[1]] if tls else []),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
        wait_port(self.port, self.proc)
        self.endpoint = '%s://127.0.0.1:%d' % ('https' if tls else 'http', self.port)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        subprocess.run(['rm', '-rf', self.dir], check=False)

    def objects(self):
        """what s3rver holds, read off its directory: no S3 call"""
        out = []
        root = os.path.join(self.dir, self.bucket)
        for d, _, files in os.walk(root):
            for f in files:
                out.append(os.path.relpath(os.path.join(d, f), root))
        return out


def self_signed(d, name):
    """a key and a certificate for 127.0.0.1 in d: (key, cert)"""
    key, cert = os.path.join(d, name + '.key'), os.path.join(d, name + '.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                    'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key,
                    '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
                    '-addext', 'subjectAltName=IP:127.0.0.1'],
                   check=True, capture_output=True)
    return key, cert


def meta(name='a.txt', owner='user-1', kind='user', data=b'', created=1700000000):
    return {'owner': owner, 'name': name, 'kind': kind,
            'sha256': hashlib.sha256(data).hexdigest(), 'size': len(data),
            'created': created}


def creds_file(access=ACCESS_KEY, secret=SECRET_KEY, mode=0o600):
    fd, path = tempfile.mkstemp(prefix='cw-s3creds-')
    os.write(fd, ('# test\naccess_key_id = %s\nsecret_access_key = %s\n'
                  % (access, secret)).encode())
    os.close(fd)
    os.chmod(path, mode)
    return path


class Proxy:
    """codeward-storeproxy on one end of a SOCK_SEQPACKET socketpair."""

    def __init__(self, endpoint, bucket='cw-test', creds=None, extra=()):
        self.creds = creds or creds_file()
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        n = theirs.fileno()     # pass_fds keeps its number in the child
        self.proc = subprocess.Popen(
            [PROXY, '--endpoint', endpoint, '--bucket', bucket,
             '--region', 'us-east-1', '--credentials', self.creds, '--fd', str(n),
             '--connect-timeout', '2']
            + (['--user', 'nobody'] if os.geteuid() == 0 else [])
            + (['--low-speed-time', '5'] if '--low-speed-time' not in extra else [])
            + list(extra),
            pass_fds=(n,), stderr=subprocess.PIPE)
        theirs.close()
        self.next_id = 1

    def request(self, typ, key, m=None, fd=None, timeout=120):
        mid = self.next_id
        self.next_id += 1
        if m is None:
            mb = bytes(META.size)
        else:
            mb = META.pack(m['owner'].encode(), m['name'].encode(),
                           m['kind'].encode(), m['sha256'].encode(),
                           m['size'], m['created'])
        msg = HDR.pack(typ, REQ_SIZE, mid, 0) + key.encode().ljust(64, b'\0') + mb
        anc = [] if fd is None else [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                      array.array('i', [fd]))]
        self.sock.sendmsg([msg], anc)
        self.sock.settimeout(timeout)
        data, ancdata, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(16))
        fds = []
        for level, kind, blob in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array('i')
                a.frombytes(blob[:len(blob) - len(blob) % 4])
                fds.extend(a)
        if not data:
            raise EOFError('storeproxy closed the socketpair')
        f = REP.unpack(data)
        assert f[0] == REPLY and f[1] == REP.size and f[2] == mid, f[:3]
        rep = {'status': f[4], 'http': f[5], 'count': f[6],
               'meta': {'owner': f[7].rstrip(b'\0').decode(),
                        'name': f[8].rstrip(b'\0').decode(),
                        'kind': f[9].rstrip(b'\0').decode(),
                        'sha256': f[10].rstrip(b'\0').decode(),
                        'size': f[11], 'created': f[12]},
               'message': f[13].rstrip(b'\0').decode(),
               'fd': fds[0] if fds else None}
        assert len(fds) <= 1
        return rep

    def put(self, key, data, **kw):
        m = kw.pop('m', None) or meta(data=data, **kw)
        fd = os.memfd_create('put')
        os.write(fd, data)
        try:
            return self.request(PUT, key, m, fd)
        finally:
            os.close(fd)

    def put_file(self, key, path, m):
        fd = os.open(path, os.O_RDONLY)
        try:
            return self.request(PUT, key, m, fd)
        finally:
            os.close(fd)

    def get(self, key):
        rep = self.request(GET, key)
        if rep['fd'] is not None:
            with os.fdopen(rep['fd'], 'rb') as f:
                rep['data'] = f.read()
        return rep

    def list(self, prefix):
        rep = self.request(LIST, prefix)
        if rep['fd'] is not None:
            with os.fdopen(rep['fd'], 'rb') as f:
                rep['lines'] = f.read().decode().splitlines()
        return rep

    def status_kb(self, field):
        with open('/proc/%d/status' % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
        raise RuntimeError('no %s' % field)

    def vmhwm_kb(self):
        return self.status_kb('VmHWM')

    def close(self):
        self.sock.close()
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            rc = self.proc.wait()
        err = self.proc.stderr.read().decode(errors='replace')
        os.unlink(self.creds)
        return rc, err


def check_secrets_absent(text):
    assert SECRET_KEY not in text or SECRET_KEY == ACCESS_KEY, text
