/* Samples → one UTF-8 line-protocol batch, the sink's hot loop in C.
 *
 * The pure-Python LineSerializer (lineproto.py) is the reference and stays in charge of
 * everything but the common case: this loop only handles samples whose tags and fields are
 * plain dicts of plain str / float / int / bool. Any other sample (NaN or inf, a subclass
 * value, a non-dict) is handed back to `serializer.line(s)`, so the two can never disagree on
 * what to drop or count. Escaped prefixes and field plans come from the serializer's own
 * caches (filled by its `_prefix` / `_plan` on a miss), so the escaping rules live in one
 * place. Built when a C compiler is there; lineproto.py falls back to Python when it is not.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <structmember.h>
#include <string.h>

#define CACHE_MAX 100000

typedef struct {
    char *p;
    Py_ssize_t len, cap;
} Buf;

static int buf_reserve(Buf *b, Py_ssize_t extra) {
    if (b->len + extra <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + extra)
        cap *= 2;
    char *p = PyMem_Realloc(b->p, (size_t)cap);
    if (!p) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_put(Buf *b, const char *s, Py_ssize_t n) {
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, s, (size_t)n);
    b->len += n;
    return 0;
}

/* A str's UTF-8 (a lone surrogate → '?', as str.encode("utf-8", "replace") writes it);
 * `*tmp` holds the bytes object of that rare case, for the caller to release. */
static const char *utf8_of(PyObject *s, Py_ssize_t *n, PyObject **tmp) {
    *tmp = NULL;
    const char *u = PyUnicode_AsUTF8AndSize(s, n);
    if (u)
        return u;
    PyErr_Clear();
    *tmp = PyUnicode_AsEncodedString(s, "utf-8", "replace");
    if (!*tmp)
        return NULL;
    *n = PyBytes_GET_SIZE(*tmp);
    return PyBytes_AS_STRING(*tmp);
}

static int put_str(Buf *b, PyObject *s) {
    Py_ssize_t n;
    PyObject *tmp;
    const char *u = utf8_of(s, &n, &tmp);
    int rc = u ? buf_put(b, u, n) : -1;
    Py_XDECREF(tmp);
    return rc;
}

/* A string field: quoted; '"' and '\' escaped, newline and CR written as \n and \r (the
 * spool is line-based). All four are ASCII, so escaping the UTF-8 bytes is exact. */
static int put_string_field(Buf *b, PyObject *s) {
    Py_ssize_t n;
    PyObject *enc;
    const char *u = utf8_of(s, &n, &enc);
    if (!u)
        return -1;
    int rc = -1;
    if (buf_reserve(b, 2 * n + 2) < 0)
        goto done;
    char *o = b->p + b->len;
    *o++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = u[i];
        switch (c) {
        case '"': *o++ = '\\'; *o++ = '"'; break;
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\n': *o++ = '\\'; *o++ = 'n'; break;
        case '\r': *o++ = '\\'; *o++ = 'r'; break;
        default: *o++ = c;
        }
    }
    *o++ = '"';
    b->len = o - b->p;
    rc = 0;
done:
    Py_XDECREF(enc);
    return rc;
}

/* An int as its decimal digits (any size, as f"{v}" writes it). */
static int put_int(Buf *b, PyObject *v) {
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (!overflow) {
        if (x == -1 && PyErr_Occurred())
            return -1;
        /* by hand: snprintf costs ~1,300 instructions a number, this ~60 */
        char tmp[24], *e = tmp + sizeof tmp, *o = e;
        unsigned long long u = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
        do {
            *--o = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (x < 0)
            *--o = '-';
        return buf_put(b, o, e - o);
    }
    PyObject *s = PyObject_Str(v);
    if (!s)
        return -1;
    int rc = put_str(b, s);
    Py_DECREF(s);
    return rc;
}

/* repr(x) without its trailing ".0", for the common case of a value with at most six
 * decimals (a percentage, a temperature, a whole number); 0 when not handled (dtoa then).
 * Exact, not approximate: the k-decimal string m/10^k reads back as x exactly when the
 * correctly rounded quotient m / 10^k is x (m < 2^51 and 10^k are exact doubles). Below
 * 2^51 at most one k-decimal string reads back as x and rounding x * 10^k finds it, so the
 * first k that works gives the shortest string — what repr writes. repr switches to an
 * exponent below 1e-4, hence the lower bound. */
static int put_float_short(Buf *b, double x) {
    static const double pow10[] = {1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6};
    static const unsigned long long ipow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    if (x == 0.0)
        return buf_put(b, signbit(x) ? "-0" : "0", signbit(x) ? 2 : 1) < 0 ? -1 : 1;
    double ax = fabs(x);
    if (!(ax >= 1e-4))
        return 0;
    for (int k = 0; k <= 6; k++) {
        double y = ax * pow10[k];
        if (y >= 2251799813685248.0) /* 2^51 */
            return 0;
        double m = nearbyint(y);
        if (m / pow10[k] != ax)
            continue;
        unsigned long long um = (unsigned long long)m, q = um / ipow10[k], r = um % ipow10[k];
        char tmp[32], *e = tmp + sizeof tmp, *o = e;
        for (int i = 0; i < k; i++) {
            *--o = (char)('0' + r % 10);
            r /= 10;
        }
        if (k)
            *--o = '.';
        do {
            *--o = (char)('0' + q % 10);
            q /= 10;
        } while (q);
        if (x < 0)
            *--o = '-';
        return buf_put(b, o, e - o) < 0 ? -1 : 1;
    }
    return 0;
}

/* The prefix-cache key: the measurement alone, or (measurement, k1, v1, k2, v2, …). Its
 * length is odd and ≥ 3, so it cannot collide with the Python path's (m, items) pairs. */
static PyObject *prefix_key(PyObject *meas, PyObject *tags) {
    Py_ssize_t n = PyDict_GET_SIZE(tags);
    if (n == 0) {
        Py_INCREF(meas);
        return meas;
    }
    PyObject *key = PyTuple_New(1 + 2 * n);
    if (!key)
        return NULL;
    Py_INCREF(meas);
    PyTuple_SET_ITEM(key, 0, meas);
    Py_ssize_t pos = 0, i = 1;
    PyObject *k, *v;
    while (PyDict_Next(tags, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k) || !PyUnicode_CheckExact(v)) {
            Py_DECREF(key);
            Py_RETURN_NONE; /* unusual tags: the Python path decides */
        }
        Py_INCREF(k);
        PyTuple_SET_ITEM(key, i++, k);
        Py_INCREF(v);
        PyTuple_SET_ITEM(key, i++, v);
    }
    return key;
}

static PyObject *cached(PyObject *cache, PyObject *key, PyObject *fn, PyObject *arg) {
    PyObject *val = PyDict_GetItemWithError(cache, key);
    if (val) {
        Py_INCREF(val);
        return val;
    }
    if (PyErr_Occurred())
        return NULL;
    val = PyObject_CallOneArg(fn, arg);
    if (!val)
        return NULL;
    if (PyDict_GET_SIZE(cache) >= CACHE_MAX)
        PyDict_Clear(cache);
    if (PyDict_SetItem(cache, key, val) < 0) {
        Py_DECREF(val);
        return NULL;
    }
    return val;
}

enum { MEAS, TAGS, FIELDS, TIME, NATTR };
static const char *const attr_names[NATTR] = {"measurement", "tags", "fields", "time"};

/* What one encode() call reuses from sample to sample. */
typedef struct {
    PyObject *prefixes, *plans, *make_prefix, *make_plan;
    PyTypeObject *fast_type;  /* a slots class (Sample): its attributes read at fixed offsets */
    Py_ssize_t offsets[NATTR];
    PyObject *last_fkey, *last_plan;  /* consecutive samples mostly have the same field names */
    Py_ssize_t empty_keys;
} State;

/* The slot offsets of `tp`, when all four attributes are plain object slots. */
static void find_slots(State *st, PyTypeObject *tp) {
    st->fast_type = NULL;
    for (int i = 0; i < NATTR; i++) {
        PyObject *d = PyObject_GetAttrString((PyObject *)tp, attr_names[i]);
        if (!d) {
            PyErr_Clear();
            return;
        }
        int ok = Py_IS_TYPE(d, &PyMemberDescr_Type)
                 && ((PyMemberDescrObject *)d)->d_member->type == T_OBJECT_EX;
        if (ok)
            st->offsets[i] = ((PyMemberDescrObject *)d)->d_member->offset;
        Py_DECREF(d);
        if (!ok)
            return;
    }
    st->fast_type = tp;
}

/* New references to the sample's four attributes; 0 when one is missing (error set). */
static int read_attrs(State *st, PyObject *s, PyObject **out) {
    if (Py_TYPE(s) == st->fast_type) {
        for (int i = 0; i < NATTR; i++) {
            PyObject *v = *(PyObject **)((char *)s + st->offsets[i]);
            if (!v)
                break;  /* an unset slot: let getattr raise the usual error */
            Py_INCREF(v);
            out[i] = v;
            if (i == NATTR - 1)
                return 1;
        }
        for (int i = 0; i < NATTR; i++)
            Py_CLEAR(out[i]);
    }
    for (int i = 0; i < NATTR; i++) {
        out[i] = PyObject_GetAttrString(s, attr_names[i]);
        if (!out[i])
            return 0;
    }
    return 1;
}

/* Are the dict's keys, in order, the items of `key` (by identity: names repeat as the same
 * objects)? A miss only costs the ordinary lookup. */
static int same_keys(PyObject *key, PyObject *d) {
    if (!key || PyTuple_GET_SIZE(key) != PyDict_GET_SIZE(d))
        return 0;
    Py_ssize_t pos = 0, i = 0;
    PyObject *k, *v;
    while (PyDict_Next(d, &pos, &k, &v))
        if (PyTuple_GET_ITEM(key, i++) != k)
            return 0;
    return 1;
}

/* 1: written; 0: not the common case (nothing written); -1: error. */
static int encode_one(Buf *b, PyObject *s, State *st) {
    int rc = -1;
    Py_ssize_t start = b->len;
    PyObject *a[NATTR] = {NULL, NULL, NULL, NULL};
    PyObject *pkey = NULL, *prefix = NULL, *plan = NULL;
    if (!read_attrs(st, s, a))
        goto done;
    PyObject *meas = a[MEAS], *tags = a[TAGS], *fields = a[FIELDS], *tm = a[TIME];
    if (!PyUnicode_CheckExact(meas) || !PyDict_CheckExact(tags) || !PyDict_CheckExact(fields)
        || !PyLong_CheckExact(tm)) {
        rc = 0;
        goto done;
    }
    pkey = prefix_key(meas, tags);
    if (!pkey)
        goto done;
    if (pkey == Py_None) {
        rc = 0;
        goto done;
    }
    prefix = cached(st->prefixes, pkey, st->make_prefix, s);
    if (!prefix)
        goto done;
    if (!PyUnicode_CheckExact(prefix) || PyUnicode_GET_LENGTH(prefix) == 0) {
        rc = 0; /* no measurement name: the Python path drops and counts it */
        goto done;
    }
    if (same_keys(st->last_fkey, fields)) {
        plan = st->last_plan;
        Py_INCREF(plan);
    } else {
        PyObject *fkey = PySequence_Tuple(fields);
        if (!fkey)
            goto done;
        plan = cached(st->plans, fkey, st->make_plan, fkey);
        if (!plan) {
            Py_DECREF(fkey);
            goto done;
        }
        /* plan = ([(key, "escaped_key="), …], number of empty keys) */
        if (!PyTuple_Check(plan) || PyTuple_GET_SIZE(plan) != 2
            || !PyList_Check(PyTuple_GET_ITEM(plan, 0))) {
            Py_DECREF(fkey);
            PyErr_SetString(PyExc_TypeError, "line protocol: bad field plan");
            goto done;
        }
        Py_XSETREF(st->last_fkey, fkey);
        Py_INCREF(plan);
        Py_XSETREF(st->last_plan, plan);
    }
    PyObject *named = PyTuple_GET_ITEM(plan, 0);
    Py_ssize_t nf = PyList_GET_SIZE(named);
    if (nf == 0) {
        rc = 0;
        goto done;
    }
    if (put_str(b, prefix) < 0)
        goto done;
    for (Py_ssize_t i = 0; i < nf; i++) {
        PyObject *pair = PyList_GET_ITEM(named, i);
        PyObject *v = PyDict_GetItemWithError(fields, PyTuple_GET_ITEM(pair, 0));
        if (!v) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_KeyError, "line protocol: field vanished");
            goto done;
        }
        if (i && buf_put(b, ",", 1) < 0)
            goto done;
        if (put_str(b, PyTuple_GET_ITEM(pair, 1)) < 0)
            goto done;
        if (PyFloat_CheckExact(v)) {
            double x = PyFloat_AS_DOUBLE(v);
            if (!isfinite(x)) {
                rc = 0; /* NaN / inf: dropped and counted by the Python path */
                goto done;
            }
            int done_short = put_float_short(b, x);
            if (done_short < 0)
                goto done;
            if (done_short)
                continue;
            /* repr(x) without its trailing ".0": what the library writes */
            char *r = PyOS_double_to_string(x, 'r', 0, 0, NULL);
            if (!r)
                goto done;
            int e = buf_put(b, r, (Py_ssize_t)strlen(r));
            PyMem_Free(r);
            if (e < 0)
                goto done;
        } else if (PyLong_CheckExact(v)) {
            if (put_int(b, v) < 0 || buf_put(b, "i", 1) < 0)
                goto done;
        } else if (PyUnicode_CheckExact(v)) {
            if (put_string_field(b, v) < 0)
                goto done;
        } else if (PyBool_Check(v)) {
            if (v == Py_True ? buf_put(b, "true", 4) : buf_put(b, "false", 5))
                goto done;
        } else {
            rc = 0;
            goto done;
        }
    }
    if (buf_put(b, " ", 1) < 0 || put_int(b, tm) < 0 || buf_put(b, "\n", 1) < 0)
        goto done;
    Py_ssize_t empty = PyLong_AsSsize_t(PyTuple_GET_ITEM(plan, 1));
    if (empty < 0 && PyErr_Occurred())
        goto done;
    st->empty_keys += empty;
    rc = 1;
done:
    if (rc != 1)
        b->len = start;
    for (int i = 0; i < NATTR; i++)
        Py_XDECREF(a[i]);
    Py_XDECREF(pkey);
    Py_XDECREF(prefix);
    Py_XDECREF(plan);
    return rc;
}

PyDoc_STRVAR(encode_doc,
"encode(samples, serializer) -> (bytes, lines, empty_field_keys)\n\n"
"The batch as UTF-8 line protocol, one newline-terminated line per written sample.\n"
"Samples outside the common case go through serializer.line().");

static PyObject *encode(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *samples, *ser;
    if (!PyArg_ParseTuple(args, "OO:encode", &samples, &ser))
        return NULL;
    PyObject *seq = PySequence_Fast(samples, "samples must be iterable");
    if (!seq)
        return NULL;
    State st = {0};
    st.prefixes = PyObject_GetAttrString(ser, "_prefixes");
    st.plans = st.prefixes ? PyObject_GetAttrString(ser, "_plans") : NULL;
    st.make_prefix = st.plans ? PyObject_GetAttrString(ser, "_prefix") : NULL;
    st.make_plan = st.make_prefix ? PyObject_GetAttrString(ser, "_plan") : NULL;
    PyObject *line = st.make_plan ? PyObject_GetAttrString(ser, "line") : NULL;
    PyObject *result = NULL;
    Buf b = {NULL, 0, 0};
    Py_ssize_t lines = 0;
    if (!line)
        goto done;
    if (!PyDict_Check(st.prefixes) || !PyDict_Check(st.plans)) {
        PyErr_SetString(PyExc_TypeError, "serializer caches must be dicts");
        goto done;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    if (n)
        find_slots(&st, Py_TYPE(items[0]));
    if (buf_reserve(&b, n * 96 + 1) < 0)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        int rc = encode_one(&b, items[i], &st);
        if (rc < 0)
            goto done;
        if (rc == 1) {
            lines++;
            continue;
        }
        PyObject *text = PyObject_CallOneArg(line, items[i]);
        if (!text)
            goto done;
        int e = 0;
        if (text != Py_None) {
            e = put_str(&b, text) < 0 || buf_put(&b, "\n", 1) < 0;
            lines++;
        }
        Py_DECREF(text);
        if (e)
            goto done;
    }
    result = Py_BuildValue("(y#nn)", b.p ? b.p : "", b.len, lines, st.empty_keys);
done:
    PyMem_Free(b.p);
    Py_DECREF(seq);
    Py_XDECREF(st.prefixes);
    Py_XDECREF(st.plans);
    Py_XDECREF(st.make_prefix);
    Py_XDECREF(st.make_plan);
    Py_XDECREF(st.last_fkey);
    Py_XDECREF(st.last_plan);
    Py_XDECREF(line);
    return result;
}

static PyMethodDef methods[] = {
    {"encode", encode, METH_VARARGS, encode_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_lineproto", "Line protocol batches in C (see lineproto.py).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__lineproto(void) { return PyModule_Create(&module); }
