// Drives the official Voucherify JS SDK (@voucherify/sdk, unchanged) against a live Patrons server.
//
//   PATRONS_URL=http://127.0.0.1:8000 APP_ID=... APP_TOKEN=... node tests/js/customers.test.mjs
//
// The project behind APP_ID must be fresh (empty): some steps compare totals. Steps run in order;
// a failing step is reported (with the HTTP exchanges that led to it) and the run goes on, so one
// run shows every mismatch. Exit code 0 only if no step failed. Endpoints Patrons may not serve
// yet (permanent deletion) are skipped with a SKIP line when they 404.
//
// Run by tests/test_js_sdk.py (pytest -m sdk) on SQLite and PostgreSQL.

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { inspect } from 'node:util'

// The package has no "exports" and its "main" is a UMD bundle, so ESM gets only a default export:
// `import { VoucherifyServerSide } from '@voucherify/sdk'` does not work under plain Node.
import voucherifySdk from '@voucherify/sdk'

const { VoucherifyServerSide } = voucherifySdk
const SDK_VERSION = createRequire(import.meta.url)('@voucherify/sdk/package.json').version

const env = (name) => {
  const value = process.env[name]
  if (!value) {
    console.error(`customers.test.mjs: environment variable ${name} is required`)
    process.exit(2)
  }
  return value
}
const PATRONS_URL = env('PATRONS_URL').replace(/\/+$/, '')
const APP_ID = env('APP_ID')
const APP_TOKEN = env('APP_TOKEN')

const CUST_ID = /^cust_[A-Za-z0-9]{24}$/
const SEG_ID = /^seg_[A-Za-z0-9]{24}$/
const AA_ID = /^aa_[0-9a-f]{18}$/
const REQUEST_ID = /^v-[0-9a-f]{18}$/
const WIRE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const TRICKY = 'a b/c@x.com' // encodeURIComponent → a%20b%2Fc%40x.com

// --------------------------------------------------------------------------------------------
// the client, and a log of what it put on the wire (read through axios interceptors on the
// SDK's own axios instance; the SDK itself is not changed)

function makeClient(secretKey = APP_TOKEN) {
  return VoucherifyServerSide({
    applicationId: APP_ID,
    secretKey,
    apiUrl: PATRONS_URL,
    exposeErrorCause: true, // VoucherifyError.cause = the AxiosError, for the failure reports
    timeoutMs: 20000,
  })
}

const client = makeClient()
const wire = [] // {method, url, headers, body, status, response}

function record(sdkClient) {
  const http = sdkClient.apiLimitsHandler?.requestController?.request
  if (!http?.interceptors) return
  http.interceptors.request.use((config) => {
    const entry = {
      method: config.method.toUpperCase(),
      url: http.getUri(config),
      headers: { ...(config.headers?.toJSON?.() ?? config.headers) },
      body: config.data?.getBoundary ? '<multipart form-data stream>' : config.data,
    }
    config.patronsWire = entry
    wire.push(entry)
    if (wire.length > 200) wire.shift()
    return config
  })
  const finish = (response) => {
    const entry = response?.config?.patronsWire
    if (entry) {
      entry.status = response.status
      entry.response = response.data
    }
  }
  http.interceptors.response.use(
    (response) => {
      finish(response)
      return response
    },
    (error) => {
      finish(error?.cause?.response ?? error?.response)
      return Promise.reject(error)
    },
  )
}
record(client)

function showExchange(entry) {
  const clip = (value) => {
    const text = typeof value === 'string' ? value : inspect(value, { depth: 6, breakLength: Infinity })
    return text.length > 800 ? text.slice(0, 800) + ' …' : text
  }
  return [
    `    ${entry.method} ${entry.url}`,
    `      request headers: ${JSON.stringify(redact(entry.headers))}`,
    `      request body:    ${entry.body === undefined ? '(none)' : clip(entry.body)}`,
    `      response:        ${entry.status ?? '(no response)'} ${clip(entry.response ?? '')}`,
  ].join('\n')
}

function redact(headers) {
  const out = { ...headers }
  for (const key of Object.keys(out)) if (/token/i.test(key)) out[key] = '<redacted>'
  return out
}

// --------------------------------------------------------------------------------------------
// a tiny sequential runner

class Skip extends Error {}
const results = { passed: [], failed: [], skipped: [] }

async function step(name, fn) {
  const started = Date.now()
  const firstExchange = wire.length
  try {
    await fn()
    results.passed.push(name)
    console.log(`ok    ${name} (${Date.now() - started} ms)`)
  } catch (error) {
    if (error instanceof Skip) {
      results.skipped.push(name)
      console.log(`SKIP  ${name}: ${error.message}`)
      return
    }
    results.failed.push(name)
    console.log(`FAIL  ${name}`)
    console.log(indent(describe(error), '    '))
    if (isTransportError(error)) {
      console.log(`\nFAILED: cannot talk to ${PATRONS_URL} (${error.code}); stopping here`)
      process.exit(1)
    }
    const exchanges = wire.slice(Math.max(firstExchange, wire.length - 3))
    if (exchanges.length) {
      console.log('  last HTTP exchanges of this step:')
      for (const entry of exchanges) console.log(showExchange(entry))
    }
  }
}

function indent(text, prefix) {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n')
}

/** The SDK's VoucherifyError (not exported, and its class name is minified in the bundle). */
function isVoucherifyError(error) {
  return error instanceof Error && 'resource_type' in error && 'request_id' in error
}

/** No HTTP response at all (refused, reset, timed out): later steps cannot say anything. */
function isTransportError(error) {
  const cause = isVoucherifyError(error) ? null : error
  return Boolean(cause?.isAxiosError && !cause.response)
}

function describe(error) {
  if (isVoucherifyError(error)) {
    const { code, key, message, details, request_id: requestId } = error
    return `VoucherifyError ${code} ${key ?? ''}: ${message} ${details ?? ''} (${requestId ?? ''})`
  }
  return error?.stack ?? String(error)
}

// --------------------------------------------------------------------------------------------
// helpers

const tick = () => sleep(5) // the wire resolution is 1 ms

async function rejects(promise, expected) {
  let error
  try {
    const value = await promise
    assert.fail(`expected HTTP ${expected.code}, got success: ${inspect(value, { depth: 2 })}`)
  } catch (caught) {
    error = caught
  }
  if (error instanceof assert.AssertionError) throw error
  assert.ok(isVoucherifyError(error), `expected a VoucherifyError, got ${describe(error)}`)
  for (const [key, value] of Object.entries(expected)) {
    if (value instanceof RegExp) assert.match(String(error[key]), value, `error.${key}`)
    else assert.deepEqual(error[key], value, `error.${key}`)
  }
  return error
}

/** A 404 from the router (no such endpoint) rather than from the resource lookup. */
function isMissingEndpoint(error) {
  return error?.code === 404 && error.resource_type === undefined
}

function assertCustomer(c) {
  assert.equal(c.object, 'customer')
  assert.match(c.id, CUST_ID)
  assert.match(c.created_at, WIRE_TIME)
  if (c.updated_at !== null) assert.match(c.updated_at, WIRE_TIME)
  assert.equal(typeof c.summary, 'object')
  assert.equal(c.summary.redemptions.total_redeemed, 0)
  assert.equal(c.summary.orders.total_amount, 0)
  assert.equal(typeof c.loyalty, 'object')
  assert.equal(c.loyalty.points, 0)
  assert.equal(typeof c.referrals, 'object')
  assert.equal(c.referrals.total, 0)
  // metadata is absent until the customer has some (the official 2.x suite checks it)
  if ('metadata' in c) assert.equal(typeof c.metadata, 'object')
  // non-nullable strings in the docs spec: absent when unset, never null
  for (const name of ['name', 'description', 'email', 'phone']) assert.notEqual(c[name], null)
}

function assertCustomerList(page) {
  assert.equal(page.object, 'list')
  assert.equal(page.data_ref, 'customers')
  assert.ok(Array.isArray(page.customers))
  assert.equal(typeof page.total, 'number')
  assert.equal(typeof page.has_more, 'boolean', 'list customers must send has_more')
  for (const c of page.customers) assertCustomer(c)
}

const ids = (customers) => customers.map((c) => c.id)

function midpoint(a, b) {
  const [ta, tb] = [Date.parse(a), Date.parse(b)]
  assert.ok(tb - ta >= 2, `need 2 ms between ${a} and ${b}`)
  return new Date(Math.floor((ta + tb) / 2)).toISOString()
}

async function waitDone(actionId, { timeoutMs = 30000 } = {}) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const action = await client.asyncActions.get(actionId)
    assert.equal(action.id, actionId)
    assert.equal(action.object, 'async_action')
    if (action.status === 'DONE') {
      assert.equal(action.progress, 100)
      assert.match(action.created_at, WIRE_TIME)
      assert.match(action.updated_at, WIRE_TIME)
      assert.equal(typeof action.processing_time, 'number')
      assert.match(action.request_id, REQUEST_ID)
      assert.equal(typeof action.result, 'object')
      assert.notEqual(action.result, null)
      return action
    }
    assert.ok(['ENQUEUED', 'IN_PROGRESS'].includes(action.status), `status ${action.status}`)
    assert.ok(action.result == null, 'no result before DONE')
    assert.ok(action.progress >= 0 && action.progress < 100, `progress ${action.progress}`)
    if (Date.now() > deadline) assert.fail(`async action ${actionId} still ${action.status}`)
    await sleep(100)
  }
}

function assertBulkResult(action, type, done) {
  assert.equal(action.type, type)
  assert.equal(action.operation_status, 'SUCCESS')
  assert.equal(action.result.done_count, done)
  assert.equal(action.result.failed_count, 0)
  assert.deepEqual(action.result.errors, [])
  assert.ok(Array.isArray(action.result.reports))
  assert.ok(Date.parse(action.result.reports_available_till) > Date.now())
}

const actionIds = [] // every async action this run scheduled, oldest first

// --------------------------------------------------------------------------------------------
// the steps

console.log(`@voucherify/sdk ${SDK_VERSION} against ${PATRONS_URL} (node ${process.version})`)

let ada // created in the first step, used by later ones

await step('customers.create: a new customer, every field round-trips', async () => {
  const before = Date.now()
  ada = await client.customers.create({
    source_id: TRICKY,
    name: 'Ada Lovelace',
    email: 'ada@example.org',
    phone: '+44 20 7946 0000',
    description: 'first',
    birthdate: '1990-12-10',
    address: { city: 'London', line_1: '12 Byron St', country: 'GB', postal_code: 'N1 1AA' },
    metadata: { tier: 'gold', score: 3, tags: ['a'], nested: { x: 1 } },
  })
  assertCustomer(ada)
  assert.equal(ada.source_id, TRICKY)
  assert.equal(ada.name, 'Ada Lovelace')
  assert.equal(ada.email, 'ada@example.org')
  assert.equal(ada.phone, '+44 20 7946 0000')
  assert.equal(ada.description, 'first')
  assert.equal(ada.birthdate, '1990-12-10')
  assert.equal(ada.address.city, 'London')
  assert.equal(ada.address.line_1, '12 Byron St')
  assert.equal(ada.address.country, 'GB')
  assert.equal(ada.address.postal_code, 'N1 1AA')
  assert.deepEqual(ada.address, { city: 'London', line_1: '12 Byron St', country: 'GB', postal_code: 'N1 1AA' })
  assert.deepEqual(ada.metadata, { tier: 'gold', score: 3, tags: ['a'], nested: { x: 1 } })
  assert.equal(ada.updated_at, null)
  const created = Date.parse(ada.created_at)
  assert.ok(created >= before - 5000 && created <= Date.now() + 5000, ada.created_at)
})

await step('customers.create: upsert by source_id keeps the id and absent fields', async () => {
  await tick()
  const again = await client.customers.create({ source_id: TRICKY, name: 'Ada L.', phone: '222' })
  assertCustomer(again)
  assert.equal(again.id, ada.id)
  assert.equal(again.name, 'Ada L.')
  assert.equal(again.phone, '222')
  assert.equal(again.email, 'ada@example.org')
  assert.equal(again.created_at, ada.created_at)
  assert.ok(Date.parse(again.updated_at) > Date.parse(ada.created_at))
  ada = again
  const page = await client.customers.list({})
  assert.equal(page.total, 1)
  assert.deepEqual(ids(page.customers), [ada.id])
})

await step('customers.create: {} makes a customer without source_id; upsert by id', async () => {
  const anon = await client.customers.create({})
  assertCustomer(anon)
  assert.notEqual(anon.id, ada.id)
  assert.equal(anon.source_id, null)
  assert.equal(anon.name, undefined)
  assert.equal(anon.address, null)
  assert.ok(!('metadata' in anon), 'a customer created without metadata has no metadata key')
  const named = await client.customers.create({ id: anon.id, name: 'Known' })
  assert.equal(named.id, anon.id)
  assert.equal(named.name, 'Known')
  assert.equal(named.source_id, null)
  await rejects(client.customers.create({ id: 'cust_DoesNotExist000000000000', name: 'x' }), {
    code: 404,
    key: 'not_found',
    resource_type: 'customer',
  })
  await client.customers.delete(anon.id)
})

await step('customers.get: by id and by a source_id needing percent-encoding', async () => {
  const byId = await client.customers.get(ada.id)
  const bySource = await client.customers.get(TRICKY)
  assertCustomer(byId)
  assert.deepEqual(byId, ada)
  assert.deepEqual(bySource, ada)
  const sent = wire.at(-1)
  assert.equal(sent.method, 'GET')
  assert.ok(sent.url.endsWith('/v1/customers/a%20b%2Fc%40x.com'), sent.url)
  // The JS SDK sends Content-Type: application/json on every call, GET included.
  assert.match(String(sent.headers['Content-Type']), /^application\/json/)
})

await step('customers.get: unknown ids give the 404 error object', async () => {
  const error = await rejects(client.customers.get('no such/id@x'), {
    code: 404,
    key: 'not_found',
    message: 'Resource not found',
    details: 'Cannot find customer with id no such/id@x',
    resource_id: 'no such/id@x',
    resource_type: 'customer',
    request_id: REQUEST_ID,
  })
  assert.equal(error.message, 'Resource not found')
  const bad = makeClient(APP_TOKEN + 'x')
  await rejects(bad.customers.get(ada.id), { code: 401, key: 'unauthorized', message: 'Unauthorized' })
})

await step('customers.update: by source_id (left in the PUT body) and by id; null clears', async () => {
  await tick()
  const updated = await client.customers.update({
    source_id: TRICKY,
    name: 'Ada King',
    address: { city: 'Bath' },
    metadata: { tier: 'platinum' },
  })
  const sent = wire.at(-1)
  assert.equal(sent.method, 'PUT')
  assert.ok(sent.url.endsWith('/v1/customers/a%20b%2Fc%40x.com'), sent.url)
  assert.equal(sent.body.source_id, TRICKY) // the SDK keeps source_id in the body
  assertCustomer(updated)
  assert.equal(updated.id, ada.id)
  assert.equal(updated.name, 'Ada King')
  assert.equal(updated.email, 'ada@example.org') // absent → unchanged
  assert.equal(updated.address.city, 'Bath')
  assert.equal(updated.address.line_1, '12 Byron St') // address merges key by key
  assert.deepEqual(updated.metadata, { tier: 'platinum' }) // metadata replaces
  assert.ok(Date.parse(updated.updated_at) > Date.parse(ada.updated_at))

  const cleared = await client.customers.update({ id: ada.id, phone: null, description: null })
  assert.equal(wire.at(-1).body.id, undefined) // the SDK drops `id` from the body
  assert.equal(cleared.id, ada.id)
  assert.equal(cleared.phone, undefined) // cleared: absent, not null
  assert.equal(cleared.description, undefined)
  assert.equal(cleared.name, 'Ada King')
  ada = cleared
  assert.deepEqual(await client.customers.get(TRICKY), cleared)

  const unchanged = await client.customers.update({ id: ada.id }) // PUT with the body {}
  assert.deepEqual(wire.at(-1).body, {})
  assert.equal(unchanged.name, 'Ada King')
  assert.deepEqual(unchanged.address, ada.address)
  assert.deepEqual(unchanged.metadata, ada.metadata)
  ada = unchanged

  await rejects(client.customers.update({ source_id: 'nobody', name: 'x' }), {
    code: 404,
    key: 'not_found',
    resource_id: 'nobody',
  })
})

await step('customers.update/create: a whole fetched customer sent back (unknown fields)', async () => {
  // Read-modify-write, as JS code often does: every response field goes back in the body
  // (object, summary, loyalty, referrals, system_metadata, created_at, updated_at, ...).
  const fetched = await client.customers.get(ada.id)
  await tick()
  const renamed = await client.customers.update({ ...fetched, name: 'Ada RMW', birthday: '1815-12-10' })
  const sent = wire.at(-1)
  assert.ok(sent.url.endsWith(`/v1/customers/${ada.id}`), sent.url)
  assert.equal(sent.body.object, 'customer')
  assert.equal(sent.body.created_at, ada.created_at)
  assert.equal(renamed.id, ada.id)
  assert.equal(renamed.name, 'Ada RMW')
  assert.equal(renamed.birthday, '1815-12-10')
  assert.equal(renamed.birthdate, '1990-12-10')
  assert.equal(renamed.created_at, ada.created_at) // not taken from the body
  assert.deepEqual(renamed.address, ada.address)
  assert.deepEqual(renamed.metadata, ada.metadata)
  assert.ok(Date.parse(renamed.updated_at) > Date.parse(fetched.updated_at))

  const upserted = await client.customers.create({ ...renamed, name: 'Ada Lovelace', foo: 'bar' })
  assert.equal(upserted.id, ada.id)
  assert.equal(upserted.name, 'Ada Lovelace')
  assert.equal(upserted.foo, undefined)
  assert.equal(upserted.created_at, ada.created_at)
  ada = upserted
  assert.equal((await client.customers.list({ limit: 100 })).total, 1)
})

await step('customers.delete: 204, then 404 everywhere; the source_id can be reused', async () => {
  const doomed = await client.customers.create({ source_id: 'doomed/1', name: 'Doomed' })
  const result = await client.customers.delete('doomed/1')
  const sent = wire.at(-1)
  assert.equal(sent.method, 'DELETE')
  assert.equal(sent.status, 204)
  assert.ok(result === undefined || result === '', `DELETE returned ${inspect(result)}`)
  await rejects(client.customers.get(doomed.id), { code: 404, resource_type: 'customer' })
  await rejects(client.customers.get('doomed/1'), { code: 404, resource_id: 'doomed/1' })
  await rejects(client.customers.delete(doomed.id), { code: 404, key: 'not_found' })
  const reborn = await client.customers.create({ source_id: 'doomed/1' })
  assert.notEqual(reborn.id, doomed.id)
  await client.customers.delete(reborn.id)
  const page = await client.customers.list({ limit: 100 })
  assert.deepEqual(ids(page.customers), [ada.id])
})

await step('customers.list: envelope, email, city, name, limit/page, order', async () => {
  const made = []
  const people = [
    ['list-c', 'Cy', 'cy@example.org', 'Oslo'],
    ['list-a', 'Al', 'al+tag@example.org', 'Oslo'],
    ['list-d', 'Di', 'di@example.org', 'Bergen'],
    ['list-b', 'Bo', 'bo@example.org', 'Oslo'],
  ]
  for (const [sourceId, name, email, city] of people) {
    await tick()
    made.push(await client.customers.create({ source_id: sourceId, name, email, address: { city } }))
  }
  const listed = async (params) => {
    const page = await client.customers.list({ limit: 100, ...params })
    assertCustomerList(page)
    assert.equal(page.total, page.customers.length)
    return ids(page.customers)
  }
  assert.deepEqual(await listed({ email: 'al+tag@example.org' }), [made[1].id])
  assert.ok(wire.at(-1).url.includes('email=al%2Btag%40example.org'), wire.at(-1).url)
  assert.deepEqual(await listed({ email: 'nobody@example.org' }), [])
  assert.deepEqual(await listed({ city: 'Oslo' }), ids([made[3], made[1], made[0]]))
  assert.deepEqual(await listed({ city: 'Bergen' }), [made[2].id])
  assert.deepEqual(await listed({ name: 'Di' }), [made[2].id])
  assert.deepEqual(await listed({ city: 'Oslo', email: 'cy@example.org' }), [made[0].id])

  const everyone = [ada, ...made]
  assert.deepEqual(await listed({}), ids([...everyone].reverse())) // default: -created_at
  assert.deepEqual(await listed({ order: 'created_at' }), ids(everyone))
  assert.deepEqual(await listed({ order: '-created_at' }), ids([...everyone].reverse()))
  const bySource = [...made].sort((a, b) => a.source_id.localeCompare(b.source_id))
  assert.deepEqual(await listed({ order: 'source_id', city: 'Oslo' }), ids(bySource.filter((c) => c.address.city === 'Oslo')))

  const seen = []
  for (const [page, size, more] of [[1, 2, true], [2, 2, true], [3, 1, false]]) {
    const body = await client.customers.list({ limit: 2, page, order: 'created_at' })
    assert.ok(wire.at(-1).url.includes(`limit=2&page=${page}`), wire.at(-1).url)
    assertCustomerList(body)
    assert.equal(body.customers.length, size)
    assert.equal(body.has_more, more)
    assert.equal(body.total, 5)
    seen.push(...ids(body.customers))
  }
  assert.deepEqual(seen, ids(everyone))
  const beyond = await client.customers.list({ limit: 2, page: 4 })
  assert.deepEqual(beyond.customers, [])
  assert.equal(beyond.has_more, false)
  assert.equal(beyond.total, 5)

  await rejects(client.customers.list({ limit: 101 }), { code: 400, key: 'invalid_query_params' })
})

await step('customers.list: created_at[before|after] and updated_at[before|after]', async () => {
  const made = []
  for (let i = 0; i < 4; i++) {
    await tick()
    made.push(await client.customers.create({ source_id: `when-${i}`, address: { city: 'Turku' } }))
  }
  const t = made.map((c) => c.created_at)
  const listed = async (params, order = 'created_at') => {
    const page = await client.customers.list({ limit: 100, city: 'Turku', order, ...params })
    assertCustomerList(page)
    assert.equal(page.total, page.customers.length)
    return ids(page.customers)
  }
  const everyone = ids(made)
  const mid12 = midpoint(t[1], t[2])
  assert.deepEqual(await listed({ created_at: { after: mid12 } }), everyone.slice(2))
  // qs sends percent-encoded brackets: created_at%5Bafter%5D=2026-...Z
  assert.ok(wire.at(-1).url.includes('created_at%5Bafter%5D='), wire.at(-1).url)
  assert.deepEqual(await listed({ created_at: { before: mid12 } }), everyone.slice(0, 2))
  assert.deepEqual(
    await listed({ created_at: { after: midpoint(t[0], t[1]), before: midpoint(t[2], t[3]) } }),
    everyone.slice(1, 3),
  )
  // A JS Date goes through qs too (as its toISOString()).
  assert.deepEqual(await listed({ created_at: { after: new Date(mid12) } }), everyone.slice(2))
  assert.deepEqual(await listed({ created_at: { after: '2200-01-01' } }), [])

  await tick()
  const u1 = await client.customers.update({ source_id: 'when-1', name: 'one' })
  await tick()
  const u2 = await client.customers.update({ source_id: 'when-3', name: 'three' })
  const mid = midpoint(u1.updated_at, u2.updated_at)
  assert.deepEqual(await listed({ updated_at: { after: mid } }, 'updated_at'), [made[3].id])
  assert.ok(wire.at(-1).url.includes('updated_at%5Bafter%5D='), wire.at(-1).url)
  assert.deepEqual(await listed({ updated_at: { before: mid } }, 'updated_at'), [made[1].id])
  assert.deepEqual(
    await listed({ updated_at: { after: '1970-01-01T00:00:00.000Z' } }, '-updated_at'),
    [made[3].id, made[1].id],
  )
})

await step(`customers.updateInBulk: 250 customers, async action polled until DONE`, async () => {
  const items = Array.from({ length: 250 }, (_, i) => ({
    source_id: `bulk-${String(i).padStart(3, '0')}`,
    name: `Bulk ${i}`,
    address: { city: 'Bulkton' },
    metadata: { n: i },
  }))
  items[0].email = 'bulk0@example.org'
  const created = await client.customers.updateInBulk(items)
  assert.equal(wire.at(-1).status, 202)
  assert.deepEqual(Object.keys(created), ['async_action_id'])
  assert.match(created.async_action_id, AA_ID)
  actionIds.push(created.async_action_id)
  const action = await waitDone(created.async_action_id)
  assertBulkResult(action, 'CUSTOMERS.BULK_UPDATE', 250)

  const page = await client.customers.list({ city: 'Bulkton', limit: 1 })
  assert.equal(page.total, 250)
  const first = await client.customers.get('bulk-000')
  assertCustomer(first)
  assert.equal(first.name, 'Bulk 0')
  assert.equal(first.email, 'bulk0@example.org')
  assert.deepEqual(first.metadata, { n: 0 })
  assert.equal((await client.customers.get('bulk-249')).name, 'Bulk 249')

  // A second bulk call updates known customers (absent fields kept) and upserts unknown ones.
  const second = await client.customers.updateInBulk([
    { source_id: 'bulk-000', name: 'Bulk zero', phone: null },
    { source_id: 'list-a', metadata: { bulk: true } },
  ])
  actionIds.push(second.async_action_id)
  assertBulkResult(await waitDone(second.async_action_id), 'CUSTOMERS.BULK_UPDATE', 2)
  const zero = await client.customers.get('bulk-000')
  assert.equal(zero.name, 'Bulk zero')
  assert.equal(zero.email, 'bulk0@example.org')
  assert.equal(zero.address.city, 'Bulkton')
  const al = await client.customers.get('list-a')
  assert.equal(al.name, 'Al')
  assert.deepEqual(al.metadata, { bulk: true })
})

await step('customers.create: 40 more, four at a time (distinct and shared milliseconds)', async () => {
  const before = (await client.customers.list({ limit: 1 })).total
  for (let i = 0; i < 40; i += 4) {
    const batch = [0, 1, 2, 3].map((j) => client.customers.create({ source_id: `one-${i + j}` }))
    for (const c of await Promise.all(batch)) assertCustomer(c)
  }
  assert.equal((await client.customers.list({ limit: 1 })).total, before + 40)
})

for (const params of [{}, { order: 'created_at' }, { order: '-created_at', limit: 100 }]) {
  await step(`customers.scroll(${JSON.stringify(params)}): everyone exactly once`, async () => {
    const { total } = await client.customers.list({ limit: 1 })
    assert.ok(total > 250, `expected more than 250 customers, have ${total}`)
    const requestsBefore = wire.length
    const seen = new Map()
    const order = []
    for await (const customer of client.customers.scroll(params)) {
      assert.equal(customer.object, 'customer')
      assert.ok(!seen.has(customer.id), `customer ${customer.id} (${customer.source_id}) seen twice`)
      seen.set(customer.id, customer)
      order.push(customer.created_at)
      assert.ok(seen.size <= total, 'scroll yielded more customers than exist')
    }
    assert.equal(seen.size, total)
    const sources = new Set([...seen.values()].map((c) => c.source_id))
    for (let i = 0; i < 250; i++) {
      const sourceId = `bulk-${String(i).padStart(3, '0')}`
      assert.ok(sources.has(sourceId), `scroll missed ${sourceId}`)
    }
    for (let i = 0; i < 40; i++) assert.ok(sources.has(`one-${i}`), `scroll missed one-${i}`)
    const ascending = params.order === 'created_at'
    const sorted = [...order].sort()
    assert.deepEqual(order, ascending ? sorted : sorted.reverse(), 'scroll order')
    const scrollRequests = wire.slice(requestsBefore)
    // Each bulk job stamps its customers with one created_at, and a page never ends inside such
    // a group (README), so the 250 come in one page; the 40 one-by-one customers need several.
    assert.ok(scrollRequests.length >= (params.limit === 100 ? 2 : 5), `${scrollRequests.length} requests`)
    assert.ok(scrollRequests.every((r) => r.status === 200))
    assert.ok(
      scrollRequests[0].url.includes(
        ascending ? 'starting_after=1970-01-01T00%3A00%3A00Z' : 'starting_after=2200-01-01T00%3A00%3A00Z',
      ),
      scrollRequests[0].url,
    )
  })
}

await step('customers.updateMetadataInBulk: keys merged, unknown source_ids upserted', async () => {
  await client.customers.create({ source_id: 'meta-1', name: 'Keep Me', metadata: { keep: 1, over: 'old' } })
  const created = await client.customers.updateMetadataInBulk({
    source_ids: ['meta-1', 'meta-2'],
    metadata: { over: 'new', flag: true, nested: { x: [1, 2] } },
  })
  assert.equal(wire.at(-1).status, 202)
  assert.ok(wire.at(-1).url.endsWith('/v1/customers/metadata/async'))
  assert.match(created.async_action_id, AA_ID)
  actionIds.push(created.async_action_id)
  assertBulkResult(await waitDone(created.async_action_id), 'CUSTOMERS.METADATA_UPDATE', 2)
  const one = await client.customers.get('meta-1')
  assert.equal(one.name, 'Keep Me')
  assert.deepEqual(one.metadata, { keep: 1, over: 'new', flag: true, nested: { x: [1, 2] } })
  const two = await client.customers.get('meta-2')
  assert.equal(two.source_id, 'meta-2')
  assert.equal(two.name, undefined)
  assert.deepEqual(two.metadata, { over: 'new', flag: true, nested: { x: [1, 2] } })
})

// The official JS 2.x suite (customers.spec.ts) checks these exactly.
await step('official suite: no metadata after create; metadata {test: null} kept by a bulk update', async () => {
  const fresh = await client.customers.create({ source_id: 'official-meta', name: 'Fresh' })
  assert.ok(!('metadata' in fresh))
  assert.ok(!('metadata' in (await client.customers.get('official-meta'))))
  const done = await client.customers.updateMetadataInBulk({ source_ids: ['official-meta'], metadata: { test: null } })
  actionIds.push(done.async_action_id)
  await waitDone(done.async_action_id)
  assert.deepEqual((await client.customers.get('official-meta')).metadata, { test: null })
})

await step('official suite: address in bulk is exactly the keys sent, nulls included', async () => {
  const first = await client.customers.updateInBulk([
    { source_id: 'official-addr', address: { city: 'New York', country: 'US' } },
  ])
  actionIds.push(first.async_action_id)
  await waitDone(first.async_action_id)
  assert.deepEqual((await client.customers.get('official-addr')).address, { city: 'New York', country: 'US' })
  const second = await client.customers.updateInBulk([
    { source_id: 'official-addr', address: { city: null, country: null } },
  ])
  actionIds.push(second.async_action_id)
  await waitDone(second.async_action_id)
  assert.deepEqual((await client.customers.get('official-addr')).address, { city: null, country: null })
})

await step('customers.importCSV(filePath): multipart upload, rows upserted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'patrons-js-'))
  try {
    const path = join(dir, 'customers.csv')
    writeFileSync(
      path,
      'Source_id,Name,Email,Phone,Birthdate,Address_City,Address_Country,vip\r\n' +
        'csv-1,Ada Lovelace,ada@csv.example.org,+44 1,1990-12-10,London,GB,true\r\n' +
        'csv-2,"Turing, Alan",,,,,,\r\n' +
        'meta-1,Overwritten,,,,,,yes\r\n',
    )
    const created = await client.customers.importCSV(path)
    const sent = wire.at(-1)
    assert.equal(sent.method, 'POST')
    assert.ok(sent.url.endsWith('/v1/customers/importCSV'), sent.url)
    assert.match(String(sent.headers['Content-Type'] ?? sent.headers['content-type']), /^multipart\/form-data/)
    assert.equal(sent.status, 202)
    assert.deepEqual(Object.keys(created), ['async_action_id'])
    assert.match(created.async_action_id, AA_ID)
    actionIds.push(created.async_action_id)
    const action = await waitDone(created.async_action_id)
    assert.equal(action.type, 'CUSTOMERS.IMPORT_CSV')
    assert.equal(action.result.message, '3 customer(s) imported successfully, 0 failed.')
    assert.deepEqual(action.result.failed, [])
    assert.equal(action.result.done_count, 3)
    assert.equal(action.result.failed_count, 0)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const one = await client.customers.get('csv-1')
  assertCustomer(one)
  assert.equal(one.name, 'Ada Lovelace')
  assert.equal(one.email, 'ada@csv.example.org')
  assert.equal(one.phone, '+44 1')
  assert.equal(one.birthdate, '1990-12-10')
  assert.equal(one.address.city, 'London')
  assert.equal(one.address.country, 'GB')
  assert.deepEqual(one.metadata, { vip: 'true' })
  const two = await client.customers.get('csv-2')
  assert.equal(two.name, 'Turing, Alan')
  assert.equal(two.email, undefined)
  assert.equal(two.address, null)
  assert.ok(!('metadata' in two))
  const overwritten = await client.customers.get('meta-1') // a matched row replaces everything
  assert.equal(overwritten.name, 'Overwritten')
  assert.deepEqual(overwritten.metadata, { vip: 'yes' })
})

await step('asyncActions.get/list: every scheduled action, newest first', async () => {
  assert.equal(actionIds.length, 7, `actions scheduled by earlier steps: ${actionIds}`)
  const all = await client.asyncActions.list({ limit: 100 })
  assert.equal(all.object, 'list')
  assert.equal(all.data_ref, 'async_actions')
  assert.equal(all.has_more, false)
  assert.deepEqual(all.async_actions.map((a) => a.id), [...actionIds].reverse())
  assert.deepEqual(all.async_actions.map((a) => a.type), [
    'CUSTOMERS.IMPORT_CSV',
    'CUSTOMERS.BULK_UPDATE', // the official-suite address steps
    'CUSTOMERS.BULK_UPDATE',
    'CUSTOMERS.METADATA_UPDATE', // the official-suite metadata step
    'CUSTOMERS.METADATA_UPDATE',
    'CUSTOMERS.BULK_UPDATE',
    'CUSTOMERS.BULK_UPDATE',
  ])
  for (const action of all.async_actions) {
    assert.equal(action.object, 'async_action')
    assert.equal(action.status, 'DONE')
    assert.equal(action.progress, 100)
    assert.match(action.created_at, WIRE_TIME)
    assert.equal(action.result, undefined, 'the list carries no result')
  }
  const stamps = all.async_actions.map((a) => a.created_at)
  assert.deepEqual(stamps, [...stamps].sort().reverse())

  const one = await client.asyncActions.list({ limit: 1 })
  assert.deepEqual(one.async_actions.map((a) => a.id), [actionIds.at(-1)])
  assert.equal(one.has_more, true)
  const none = await client.asyncActions.list({ end_date: '2020-01-01T00:00:00.000Z' })
  assert.deepEqual(none.async_actions, [])
  const later = new Date(Date.now() + 60000).toISOString()
  assert.equal((await client.asyncActions.list({ end_date: later, limit: 100 })).async_actions.length, 7)
  await rejects(client.asyncActions.list({ end_date: 'not-a-date' }), { code: 400, key: 'invalid_query_params' })

  const got = await client.asyncActions.get(actionIds[0])
  assert.equal(got.type, 'CUSTOMERS.BULK_UPDATE')
  assert.equal(got.result.done_count, 250)
  await rejects(client.asyncActions.get('aa_000000000000000000'), {
    code: 404,
    key: 'not_found',
    resource_type: 'async_action',
  })
})

await step('customers.listActivity: events, cursor paging, filters', async () => {
  await client.customers.create({ source_id: 'act/1', name: 'Act' })
  for (let i = 0; i < 4; i++) await client.customers.update({ source_id: 'act/1', name: `Act ${i}` })
  const first = await client.customers.listActivity('act/1', { limit: 2 })
  assert.ok(wire.at(-1).url.includes('/v1/customers/act%2F1/activity?limit=2'), wire.at(-1).url)
  assert.equal(first.object, 'list')
  assert.equal(first.data_ref, 'data')
  assert.equal(first.has_more, true)
  assert.equal(first.total, undefined, '/activity has no total')
  assert.deepEqual(first.data.map((e) => e.type), ['customer.updated', 'customer.updated'])
  for (const event of first.data) {
    assert.match(event.id, /^evcus_[0-9a-f]{18}$/)
    assert.match(event.created_at, WIRE_TIME)
    assert.match(event.group_id, REQUEST_ID)
    assert.equal(typeof event.data, 'object')
  }
  const seen = first.data.map((e) => e.id)
  let cursor = first.more_starting_after
  assert.equal(cursor, seen.at(-1))
  for (let guard = 0; cursor && guard < 10; guard++) {
    const page = await client.customers.listActivity('act/1', { limit: 2, starting_after_id: cursor })
    seen.push(...page.data.map((e) => e.id))
    cursor = page.has_more ? page.more_starting_after : null
  }
  assert.equal(seen.length, 5)
  assert.equal(new Set(seen).size, 5)

  const oldest = await client.customers.listActivity('act/1', { order: 'created_at', limit: 1 })
  assert.equal(oldest.data[0].type, 'customer.created')
  assert.equal(oldest.data[0].data.data.customer.name, 'Act')
  const created = await client.customers.listActivity('act/1', { type: 'customer.created' })
  assert.deepEqual(created.data.map((e) => e.type), ['customer.created'])
  const now = Date.now()
  const window = await client.customers.listActivity('act/1', {
    start_date: new Date(now - 300000).toISOString(),
    end_date: new Date(now + 300000).toISOString(),
    category: 'ACTION',
    limit: 100,
  })
  assert.equal(window.data.length, 5)
  assert.equal(window.has_more, false)
  assert.deepEqual((await client.customers.listActivity('act/1', { category: 'EFFECT' })).data, [])
  await rejects(client.customers.listActivity('no-such-customer'), { code: 404, resource_type: 'customer' })
})

await step('customers.listActivities (deprecated): data and total', async () => {
  const body = await client.customers.listActivities('act/1', { limit: 3 })
  assert.ok(wire.at(-1).url.includes('/v1/customers/act%2F1/activities?limit=3'), wire.at(-1).url)
  assert.equal(body.object, 'list')
  assert.equal(body.data_ref, 'data')
  assert.equal(body.total, 5)
  assert.equal(body.data.length, 3)
  assert.equal(body.data[0].type, 'customer.updated')
  const all = await client.customers.listActivities('act/1', { limit: 100, order: 'created_at' })
  assert.equal(all.data.length, 5)
  assert.equal(all.data[0].type, 'customer.created')
  await rejects(client.customers.listActivities('no-such-customer'), { code: 404 })
})

await step('segments.create/get/delete and segments.list(customerId)', async () => {
  assert.equal(typeof client.segments?.create, 'function', 'the SDK has segments.create')
  const members = [await client.customers.get('list-a'), await client.customers.get('list-b')]
  const vip = await client.segments.create({ name: 'VIP list', type: 'static', customers: ids(members) })
  assert.match(vip.id, SEG_ID)
  assert.equal(vip.object, 'segment')
  assert.equal(vip.name, 'VIP list')
  assert.equal(vip.type, 'static')
  assert.match(vip.created_at, WIRE_TIME)

  const filter = { junction: 'AND', 'address.city': { conditions: { $is: 'Oslo' } } }
  const oslo = await client.segments.create({ name: 'Oslo', type: 'auto-update', filter })
  assert.match(oslo.id, SEG_ID)
  assert.equal(oslo.type, 'auto-update')
  assert.deepEqual(oslo.filter, filter)

  assert.deepEqual(await client.segments.get(vip.id), vip)
  assert.deepEqual(await client.segments.get(oslo.id), oslo)

  const membersOf = async (segmentId) => {
    const page = await client.customers.list({ segment_id: segmentId, limit: 100 })
    assert.equal(page.total, page.customers.length)
    return new Set(page.customers.map((c) => c.source_id))
  }
  assert.deepEqual(await membersOf(vip.id), new Set(['list-a', 'list-b']))
  assert.deepEqual(await membersOf(oslo.id), new Set(['list-a', 'list-b', 'list-c']))

  const mine = await client.segments.list('list-a') // GET /v1/customers/list-a/segments
  assert.ok(wire.at(-1).url.endsWith('/v1/customers/list-a/segments'), wire.at(-1).url)
  assert.equal(mine.object, 'list')
  assert.equal(mine.data_ref, 'data')
  assert.equal(mine.total, 2)
  assert.deepEqual(
    new Set(mine.data.map((s) => `${s.id} ${s.name} ${s.object}`)),
    new Set([`${vip.id} VIP list segment`, `${oslo.id} Oslo segment`]),
  )
  const cy = await client.segments.list('list-c')
  assert.deepEqual(cy.data.map((s) => s.id), [oslo.id])
  const stranger = await client.segments.list('not-a-customer') // not a 404, by the spec
  assert.equal(stranger.object, 'list')
  assert.deepEqual(stranger.data, [])
  assert.equal(stranger.total, 0)

  const deleted = await client.segments.delete(vip.id)
  assert.equal(wire.at(-1).status, 204)
  assert.ok(deleted === undefined || deleted === '', `DELETE returned ${inspect(deleted)}`)
  await rejects(client.segments.get(vip.id), { code: 404, key: 'not_found', resource_type: 'segment' })
  await rejects(client.segments.delete(vip.id), { code: 404, resource_type: 'segment' })
  assert.deepEqual((await client.segments.list('list-a')).data.map((s) => s.id), [oslo.id])
  await client.segments.delete(oslo.id)
})

await step('customers.deletePermanently: POST .../permanent-deletion with {}', async () => {
  const doomed = await client.customers.create({ source_id: 'erase me/1', name: 'Erase' })
  await client.customers.update({ source_id: 'erase me/1', name: 'Erase 2' })
  let erased
  try {
    erased = await client.customers.deletePermanently('erase me/1')
  } catch (error) {
    if (isMissingEndpoint(error)) {
      await client.customers.delete(doomed.id)
      throw new Skip(
        `POST /v1/customers/{id}/permanent-deletion is not served yet (404: ${error.details})`,
      )
    }
    throw error
  }
  const sent = wire.at(-1)
  assert.ok(sent.url.endsWith('/v1/customers/erase%20me%2F1/permanent-deletion'), sent.url)
  assert.deepEqual(sent.body, {})
  assert.match(erased.id, /^del_[A-Za-z0-9]{24}$/)
  assert.match(erased.created_at, WIRE_TIME)
  assert.equal(erased.related_object_id, doomed.id)
  assert.equal(erased.related_object, 'customer')
  assert.equal(erased.status, 'DONE')
  assert.equal(erased.object, 'pernament_deletion') // sic, as in the spec and the SDK types
  for (const key of ['events', 'customer_events', 'daily_events', 'segments', 'orders', 'order_events', 'customer']) {
    assert.equal(typeof erased.data_json[key], 'number', `data_json.${key}`)
  }
  assert.equal(erased.data_json.customer, 1)
  assert.ok(erased.data_json.customer_events >= 2, `customer_events ${erased.data_json.customer_events}`)
  await rejects(client.customers.get(doomed.id), { code: 404 })
  await rejects(client.customers.get('erase me/1'), { code: 404 })
  await rejects(client.customers.deletePermanently(doomed.id), { code: 404, resource_type: 'customer' })
})

await step('customers.listRedeemables: list envelope', async () => {
  const body = await client.customers.listRedeemables(TRICKY, { limit: 5 })
  assert.ok(wire.at(-1).url.includes('/v1/customers/a%20b%2Fc%40x.com/redeemables?limit=5'))
  assert.equal(body.object, 'list')
  assert.equal(body.data_ref, 'data')
  assert.deepEqual(body.data, []) // no vouchers exist
  assert.equal(body.total, 0)
  assert.equal(body.has_more, false)
  await rejects(client.customers.listRedeemables('no-such-customer'), { code: 404, resource_type: 'customer' })
})

await step('customers.listRedeemables: holdings made through campaigns, vouchers, publications, loyalties', async () => {
  const discount = await client.vouchers.create({ code: 'JS a/b', type: 'DISCOUNT_VOUCHER', discount: { type: 'AMOUNT', amount_off: 500 } })
  assert.ok(wire.at(-1).url.endsWith('/v1/vouchers/JS%20a%2Fb'), wire.at(-1).url)
  assert.equal(discount.code, 'JS a/b')
  const published = await client.distributions.publications.create({ voucher: 'JS a/b', customer: { source_id: TRICKY } })
  assert.equal(published.voucher.holder_id, published.customer_id)
  const gifts = await client.campaigns.create({
    name: 'JS Gifts',
    campaign_type: 'GIFT_VOUCHERS',
    type: 'AUTO_UPDATE',
    voucher: { type: 'GIFT_VOUCHER', gift: { amount: 2500 } },
  })
  assert.equal((await client.campaigns.get('JS Gifts')).id, gifts.id)
  const gift = (await client.distributions.publications.create({ campaign: { name: 'JS Gifts' }, customer: { source_id: TRICKY } })).voucher
  const club = await client.campaigns.create({
    name: 'JS Club',
    campaign_type: 'LOYALTY_PROGRAM',
    voucher: { type: 'LOYALTY_CARD', loyalty_card: { points: 75 } },
  })
  const card = await client.loyalties.createMember(club.id, { customer: { source_id: TRICKY } })
  assert.equal(card.loyalty_card.balance, 75)
  await client.vouchers.update({ code: 'JS a/b', additional_info: 'via JS' })
  assert.equal((await client.vouchers.get('JS a/b')).additional_info, 'via JS')

  const all = await client.customers.listRedeemables(TRICKY, { limit: 10 })
  assert.equal(all.total, 3)
  assert.deepEqual(all.data.map((r) => r.voucher_type).sort(), ['DISCOUNT_VOUCHER', 'GIFT_VOUCHER', 'LOYALTY_CARD'])
  for (const item of all.data) {
    assert.match(item.id, /^rh_[0-9a-f]{18}$/)
    assert.equal(item.holder_role, 'OWNER')
    assert.equal(item.redeemable.status, 'ACTIVE')
  }
  const cards = await client.customers.listRedeemables(TRICKY, {
    filters: { voucher_type: { conditions: { $in: ['LOYALTY_CARD', 'GIFT_VOUCHER'] } }, junction: 'and' },
  })
  assert.ok(wire.at(-1).url.includes('filters%5Bvoucher_type%5D%5Bconditions%5D%5B%24in%5D%5B0%5D=LOYALTY_CARD'), wire.at(-1).url)
  assert.deepEqual(cards.data.map((r) => r.redeemable.voucher.code).sort(), [card.code, gift.code].sort())
  const first = await client.customers.listRedeemables(TRICKY, { limit: 2, order: 'id' })
  assert.equal(first.has_more, true)
  const rest = await client.customers.listRedeemables(TRICKY, { limit: 2, order: 'id', starting_after_id: first.more_starting_after })
  assert.equal(rest.has_more, false)
  assert.deepEqual([...first.data, ...rest.data].map((r) => r.id), all.data.map((r) => r.id).reverse())

  await client.vouchers.disable('JS a/b')
  const disabled = await client.customers.listRedeemables(TRICKY, { filters: { voucher_type: { conditions: { $is: 'DISCOUNT_VOUCHER' } } } })
  assert.equal(disabled.data[0].redeemable.status, 'DISABLED')
  await client.vouchers.delete('JS a/b')
  assert.equal((await client.customers.listRedeemables(TRICKY)).total, 2)
  await rejects(client.vouchers.get('JS a/b'), { code: 404, key: 'not_found' })
})

// --------------------------------------------------------------------------------------------

const summary = `${results.passed.length} passed, ${results.failed.length} failed, ${results.skipped.length} skipped`
if (results.failed.length) {
  console.log(`\nFAILED: ${summary}`)
  for (const name of results.failed) console.log(`  - ${name}`)
  process.exit(1)
}
console.log(`\n${summary}`)
