"""A fake S3 endpoint in the test's own process, for what s3rver cannot
show: it checks each request's SigV4 signature against its secret (s3rver
3.7.1 accepts any V4 signature of a known key id: its authentication.js
leaves V4 "unimplemented"), and it can answer 500 or a body shorter than
its Content-Length."""
import hashlib
import hmac
import http.server
import threading
import time
import urllib.parse

RECORD = {
    'x-amz-meta-owner': 'user-1', 'x-amz-meta-name': '612e747874',
    'x-amz-meta-kind': 'user',
    'x-amz-meta-sha256': hashlib.sha256(b'0123456789').hexdigest(),
    'x-amz-meta-created': '1700000000',
}


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sigv4_ok(method, raw_path, headers, secret):
    """the AWS SigV4 check of a header-signed request (s3, no payload hash)"""
    auth = headers.get('Authorization', '')
    if not auth.startswith('AWS4-HMAC-SHA256 '):
        return False
    parts = dict(p.strip().split('=', 1) for p in auth[17:].split(','))
    cred = parts['Credential'].split('/')
    signed = parts['SignedHeaders'].split(';')
    path, _, query = raw_path.partition('?')
    q = sorted((urllib.parse.quote(k, safe='-_.~'), urllib.parse.quote(v, safe='-_.~'))
               for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True))
    canon_q = '&'.join('%s=%s' % kv for kv in q)
    canon_h = ''.join('%s:%s\n' % (h, ' '.join(headers.get(h, '').split()))
                      for h in signed)
    creq = '\n'.join([method, path, canon_q, canon_h, ';'.join(signed),
                      headers.get('x-amz-content-sha256', '')])
    scope = '/'.join(cred[1:])
    sts = '\n'.join(['AWS4-HMAC-SHA256', headers.get('x-amz-date', ''), scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = _hmac(('AWS4' + secret).encode(), cred[1])
    for part in cred[2:]:
        k = _hmac(k, part)
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, parts.get('Signature', ''))


class FakeS3:
    """mode: 'sigv4' (check signatures, then answer as a tiny store of one
    object), '500' (every request), 'short' (a GET body cut short), 'stall'
    (a GET body that stops half-way with the connection left open)"""

    def __init__(self, mode, secret='S3RVER'):
        fake = self
        self.mode = mode
        self.secret = secret
        self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *a):
                pass

            def answer(self, code, body=b'', headers=None, length=None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header('Content-Length',
                                 str(len(body) if length is None else length))
                self.end_headers()
                if self.command != 'HEAD':
                    self.wfile.write(body)

            def handle_any(self):
                n = int(self.headers.get('Content-Length') or 0)
                while n > 0:
                    n -= len(self.rfile.read(min(n, 65536)))
                ok = sigv4_ok(self.command, self.path, self.headers, fake.secret)
                fake.seen.append((self.command, self.path, ok))
                if fake.mode == '500':
                    return self.answer(500, b'<Error><Code>InternalError</Code></Error>')
                if fake.mode == 'sigv4' and not ok:
                    return self.answer(403, b'<Error><Code>SignatureDoesNotMatch'
                                       b'</Code></Error>')
                if self.command in ('PUT', 'DELETE'):
                    return self.answer(200 if self.command == 'PUT' else 204)
                if '?' in self.path:
                    # two pages, the token one that needs escaping
                    if 'continuation-token=tok%2B%2F%3D1' in self.path:
                        return self.answer(200, b'<?xml version="1.0" encoding="UTF-8"?>'
                                           b'<ListBucketResult><IsTruncated>false'
                                           b'</IsTruncated><Contents><Key>s/g</Key>'
                                           b'<Size>0</Size></Contents>'
                                           b'</ListBucketResult>')
                    return self.answer(200, b'<?xml version="1.0" encoding="UTF-8"?>'
                                       b'<ListBucketResult xmlns="http://s3.amazonaws.com/'
                                       b'doc/2006-03-01/"><IsTruncated>true</IsTruncated>'
                                       b'<NextContinuationToken>tok+/=1'
                                       b'</NextContinuationToken>'
                                       b'<Contents><Key>s/f</Key>'
                                       b'<Size>10</Size></Contents>'
                                       b'</ListBucketResult>')
                if fake.mode == 'stall' and self.command == 'GET':
                    self.answer(200, b'01234', RECORD, length=10)
                    self.wfile.flush()
                    time.sleep(15)
                    self.close_connection = True
                    return None
                if fake.mode == 'short' and self.command == 'GET':
                    self.answer(200, b'0123', RECORD, length=10)
                    self.close_connection = True
                    return None
                return self.answer(200, b'0123456789', RECORD)

            do_GET = do_PUT = do_HEAD = do_DELETE = handle_any

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.endpoint = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
