"""codeward-storeproxy against s3rver (npm, started here on a free loopback
port) and a fake endpoint in this process: byte-exact round trips, the
record, LIST across pages, and every error path answered with its status
and nothing half-visible. s3rver missing is a failure, not a skip."""
import hashlib
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fake_s3  # noqa: E402
import splib  # noqa: E402
from cwtest import check, main  # noqa: E402

SECRET = 'Sup3rSecretValue/For+Tests='
S = None


def s3rver():
    global S
    if S is None:
        S = splib.S3rver()
    return S


def finish(p):
    rc, err = p.close()
    check(rc == 0, 'storeproxy exit %d: %s' % (rc, err))
    check(SECRET not in err, 'the secret reached the log')
    return err


def test_round_trips_0b_1b_5mb_byte_exact_with_the_record():
    s = s3rver()
    p = splib.Proxy(s.endpoint)
    try:
        cases = [('e0', b'', ''), ('e1', b'x', 'user-1'),
                 ('e5', os.urandom(5 * 1024 * 1024), 'alice@example.org')]
        for fid, data, owner in cases:
            m = splib.meta(name='dir/na me é\tx.bin', owner=owner, kind='agent',
                           data=data, created=1733500000)
            rep = p.put('sess-A_1/' + fid, data, m=m)
            check(rep['status'] == splib.OK, 'put %s: %r' % (fid, rep))
            got = p.get('sess-A_1/' + fid)
            check(got['status'] == splib.OK, 'get %s: %r' % (fid, got))
            check(got['data'] == data, 'get %s: bytes differ' % fid)
            check(got['meta'] == m, 'record %r != %r' % (got['meta'], m))
            head = p.request(splib.HEAD, 'sess-A_1/' + fid)
            check(head['status'] == splib.OK and head['meta'] == m,
                  'head %s: %r' % (fid, head))
            check(head['fd'] is None, 'HEAD sent a descriptor')
        rep = p.request(splib.DELETE, 'sess-A_1/e1')
        check(rep['status'] == splib.OK, 'delete: %r' % rep)
        rep = p.get('sess-A_1/e1')
        check(rep['status'] == splib.NOT_FOUND and rep['http'] == 404 and
              rep['fd'] is None, 'after delete: %r' % rep)
    finally:
        finish(p)


def _big_file(path, size):
    block = os.urandom(1024 * 1024)
    h = hashlib.sha256()
    with open(path, 'wb') as f:
        for i in range(size // len(block)):
            b = i.to_bytes(8, 'little') + block[8:]
            f.write(b)
            h.update(b)
    return h.hexdigest()


def test_100mb_round_trip_streams_with_small_rss():
    s = s3rver()
    p = splib.Proxy(s.endpoint)
    tmp = tempfile.mkdtemp(prefix='cw-sp-big-')
    path = os.path.join(tmp, 'big')
    size = 100 * 1024 * 1024
    try:
        digest = _big_file(path, size)
        m = {'owner': 'u', 'name': 'big.bin', 'kind': 'output', 'sha256': digest,
             'size': size, 'created': 1}
        # 1-byte round trips, timed (the median of 20)
        puts, gets = [], []
        for i in range(20):
            t0 = time.monotonic()
            rep = p.put('big/one%d' % i, b'1')
            t1 = time.monotonic()
            got = p.get('big/one%d' % i)
            puts.append(t1 - t0)
            gets.append(time.monotonic() - t1)
            check(rep['status'] == 0 and got['data'] == b'1', 'one byte: %r' % got)
        print('1 B: PUT %.1f ms, GET %.1f ms (medians of 20)'
              % (sorted(puts)[10] * 1e3, sorted(gets)[10] * 1e3))
        hwm0 = p.vmhwm_kb()
        t0 = time.monotonic()
        rep = p.put_file('big/obj', path, m)
        t1 = time.monotonic()
        check(rep['status'] == splib.OK, 'put: %r' % rep)
        got = p.request(splib.GET, 'big/obj')
        t2 = time.monotonic()
        check(got['status'] == splib.OK, 'get: %r' % got)
        h = hashlib.sha256()
        n = 0
        with os.fdopen(got['fd'], 'rb') as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
                n += len(b)
        check(n == size and h.hexdigest() == digest, '100 MB differs (%d bytes)' % n)
        hwm = p.vmhwm_kb()
        print('100 MB: PUT %.2f s, GET %.2f s; storeproxy VmHWM %d kB (%d kB '
              'after 1 B)' % (t1 - t0, t2 - t1, hwm, hwm0))
        # the object never passes through storeproxy's memory: the peak
        # moves by libcurl's buffers at most
        check(hwm - hwm0 < 2048 and hwm < 16 * 1024,
              'storeproxy peak RSS %d kB for 100 MB (%d kB before)' % (hwm, hwm0))
    finally:
        finish(p)
        os.unlink(path)
        os.rmdir(tmp)


def test_list_more_keys_than_one_page():
    s = s3rver()
    p = splib.Proxy(s.endpoint, extra=['--list-page', '7'])
    try:
        keys = ['lst/f%02d' % i for i in range(23)]
        for k in keys:
            check(p.put(k, k.encode())['status'] == 0, 'put %s' % k)
        p.put('lsx/other', b'x')
        rep = p.list('lst')
        check(rep['status'] == splib.OK, 'list: %r' % rep)
        want = ['%s %d' % (k, len(k)) for k in keys]
        check(rep['count'] == 23 and sorted(rep['lines']) == want,
              'list: %r' % rep.get('lines'))
        rep = p.list('none')
        check(rep['status'] == 0 and rep['count'] == 0 and rep['lines'] == [],
              'empty list: %r' % rep)
    finally:
        finish(p)


def test_put_cut_mid_stream_leaves_nothing():
    s = s3rver()
    p = splib.Proxy(s.endpoint)
    try:
        # the record says 32 MB, the descriptor holds 16: the upload is cut
        # half-way. 16 MB do not fit in loopback's socket buffers, so s3rver
        # is already writing the object when the cut comes (it writes in
        # place, not atomically as S3 does; storeproxy's DELETE after a
        # failed PUT removes what it wrote).
        data = os.urandom(16 * 1024 * 1024)
        m = splib.meta(data=data)
        m['size'] = 32 * 1024 * 1024
        fd = os.memfd_create('short')
        os.write(fd, data)
        rep = p.request(splib.PUT, 'cut/obj', m, fd)
        os.close(fd)
        check(rep['status'] == splib.LOCAL and 'shorter' in rep['message'],
              'cut put: %r' % rep)
        # never answered as an object, whatever the store kept
        for _ in range(5):
            for rep in (p.request(splib.HEAD, 'cut/obj'), p.get('cut/obj')):
                check(rep['status'] != splib.OK and rep['fd'] is None,
                      'a cut PUT answered: %r' % rep)
            time.sleep(0.1)
        rep = p.request(splib.HEAD, 'cut/obj')
        check(rep['status'] == splib.NOT_FOUND, 'after a cut PUT: %r' % rep)
        check(not any(o.startswith('cut') for o in s.objects()),
              's3rver holds %r' % s.objects())
        rep = p.list('cut')
        check(rep['status'] == 0 and rep['lines'] == [], 'listed: %r' % rep)
        # the proxy goes on serving
        check(p.put('cut/ok', b'ok')['status'] == 0, 'after the cut')
    finally:
        finish(p)


def test_unreachable_endpoint():
    p = splib.Proxy('http://127.0.0.1:%d' % splib.free_port())
    try:
        for rep in (p.put('u/x', b'x'), p.get('u/x'), p.list('u')):
            check(rep['status'] == splib.UNREACHABLE and rep['fd'] is None,
                  'unreachable: %r' % rep)
    finally:
        finish(p)


def test_signatures_checked_and_wrong_secret_is_auth_refused():
    f = fake_s3.FakeS3('sigv4', secret=SECRET)
    good = splib.Proxy(f.endpoint, creds=splib.creds_file(secret=SECRET))
    bad = splib.Proxy(f.endpoint, creds=splib.creds_file(secret=SECRET[:-1] + 'X'))
    try:
        data = b'0123456789'
        check(good.put('s/f', data)['status'] == 0, 'signed PUT refused')
        rep = good.get('s/f')
        check(rep['status'] == 0 and rep['data'] == data, 'signed GET %r' % rep)
        rep = good.list('s')
        check(rep['status'] == 0 and rep['lines'] == ['s/f 10', 's/g 0'],
              'signed LIST over two pages: %r' % rep)
        check(all(ok for _, _, ok in f.seen), 'a signature failed: %r' % f.seen)
        for rep in (bad.put('s/f', data), bad.get('s/f'),
                    bad.request(splib.HEAD, 's/f'), bad.list('s')):
            check(rep['status'] == splib.AUTH and rep['http'] == 403,
                  'wrong secret: %r' % rep)
    finally:
        finish(good)
        finish(bad)
        f.stop()
    # s3rver refuses an unknown key id
    p = splib.Proxy(s3rver().endpoint, creds=splib.creds_file(access='NOBODY'))
    try:
        rep = p.put('s/f', b'x')
        check(rep['status'] == splib.AUTH and rep['http'] == 403, 's3rver: %r' % rep)
    finally:
        finish(p)


def test_server_error_500():
    f = fake_s3.FakeS3('500')
    p = splib.Proxy(f.endpoint)
    try:
        for rep in (p.put('s/f', b'x'), p.get('s/f'), p.request(splib.DELETE, 's/f'),
                    p.list('s')):
            check(rep['status'] == splib.SERVER and rep['http'] == 500 and
                  rep['fd'] is None and 'InternalError' in rep['message'],
                  '500: %r' % rep)
    finally:
        finish(p)
        f.stop()


def test_get_shorter_than_content_length_is_an_error():
    f = fake_s3.FakeS3('short')
    p = splib.Proxy(f.endpoint)
    try:
        rep = p.get('s/f')
        check(rep['status'] == splib.BAD_ANSWER and rep['fd'] is None,
              'short GET: %r' % rep)
        f.mode = 'sigv4'
        f.secret = splib.SECRET_KEY
        rep = p.get('s/f')
        check(rep['status'] == 0 and rep['data'] == b'0123456789', 'then %r' % rep)
    finally:
        finish(p)
        f.stop()


def test_a_stalled_transfer_times_out():
    f = fake_s3.FakeS3('stall')
    p = splib.Proxy(f.endpoint, extra=['--low-speed-time', '2'])
    try:
        t0 = time.monotonic()
        rep = p.get('s/f')
        took = time.monotonic() - t0
        check(rep['status'] == splib.UNREACHABLE and rep['fd'] is None and
              'too slow' in rep['message'], 'stalled GET: %r' % rep)
        # libcurl averages the speed over its last seconds of samples: the
        # first bytes keep it above 1 byte/s for about 5 s, then 2 s more
        check(1.5 < took < 12, 'the low-speed limit took %.1f s' % took)
    finally:
        finish(p)
        f.stop()


def test_protocol_violation_ends_the_proxy():
    p = splib.Proxy(s3rver().endpoint)
    p.sock.send(b'\1\0\0\0' + bytes(100))
    rc, err = p.close()
    check(rc != 0 and 'request refused' in err, 'violation: %d %s' % (rc, err))
    p = splib.Proxy(s3rver().endpoint)
    try:
        p.request(splib.GET, '../etc')
        check(False, 'a key outside its class was answered')
    except (EOFError, ConnectionResetError):
        pass
    rc, err = p.close()
    check(rc != 0 and 'key outside its class' in err, 'key: %d %s' % (rc, err))


def test_https_verified_against_the_ca_bundle():
    d = tempfile.mkdtemp(prefix='cw-sp-tls-')
    key, cert = splib.self_signed(d, 'server')
    _, other = splib.self_signed(d, 'other')
    s = splib.S3rver(tls=(key, cert))
    try:
        p = splib.Proxy(s.endpoint, extra=['--ca-file', cert])
        try:
            data = os.urandom(300000)
            check(p.put('tls/x', data)['status'] == 0, 'https put')
            rep = p.get('tls/x')
            check(rep['status'] == 0 and rep['data'] == data, 'https get %r' % rep['message'])
            rep = p.list('tls')
            check(rep['lines'] == ['tls/x 300000'], 'https list %r' % rep)
            print('https: storeproxy VmHWM %d kB' % p.vmhwm_kb())
        finally:
            finish(p)
        p = splib.Proxy(s.endpoint, extra=['--ca-file', other])
        try:
            rep = p.get('tls/x')
            check(rep['status'] == splib.UNREACHABLE and rep['fd'] is None,
                  'an unverified server: %r' % rep)
        finally:
            finish(p)
    finally:
        s.stop()
        subprocess.run(['rm', '-rf', d], check=False)


def test_credentials_file_must_be_0600():
    path = splib.creds_file(secret=SECRET, mode=0o644)
    p = splib.Proxy(s3rver().endpoint, creds=path)
    rc, err = p.close()
    check(rc == 1 and '0600' in err and SECRET not in err, 'mode: %d %s' % (rc, err))


if __name__ == '__main__':
    try:
        main(globals())
    finally:
        if S is not None:
            S.stop()
