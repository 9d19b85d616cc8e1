// The official Voucherify JS SDK (@voucherify/sdk, unchanged) against a live Patrons server:
// distributions.exports create / get / list / delete, as the SDK's own export tests use them
// (a voucher export), and the file at result.url (issue 18).
//
//   PATRONS_URL=http://127.0.0.1:8000 APP_ID=... APP_TOKEN=... node tests/js/exports.test.mjs
//
// The project behind APP_ID must be fresh. Prints one line per step; exits non-zero on a failure.
// Run by tests/exports/test_js_sdk.py on SQLite and PostgreSQL.

import assert from 'node:assert/strict'

import { client, finish, step } from './harness.mjs'

let created
let done

await step('vouchers to export', async () => {
  for (const code of ['JS-EXP-1', 'JS-EXP-2', 'JS-EXP-3']) {
    await client.vouchers.create({ code, type: 'DISCOUNT_VOUCHER', discount: { type: 'AMOUNT', amount_off: 500 } })
  }
})

await step('exports.create schedules a voucher export', async () => {
  created = await client.distributions.exports.create({
    exported_object: 'voucher',
    parameters: { fields: ['code', 'voucher_type', 'value'], order: 'code' },
  })
  assert.match(created.id, /^exp_/)
  assert.equal(created.object, 'export')
  assert.equal(created.status, 'SCHEDULED')
  assert.equal(created.exported_object, 'voucher')
  assert.deepEqual(created.parameters.fields, ['code', 'voucher_type', 'value'])
})

await step('exports.get until DONE, with result.url', async () => {
  const deadline = Date.now() + 20000
  for (;;) {
    done = await client.distributions.exports.get(created.id)
    if (done.status === 'DONE' || done.status === 'ERROR') break
    if (Date.now() > deadline) throw new Error(`still ${done.status}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.equal(done.status, 'DONE')
  assert.match(done.result.url, /token=/)
})

await step('the file at result.url, fetched without keys', async () => {
  const response = await fetch(done.result.url)
  assert.equal(response.status, 200)
  const lines = (await response.text()).trim().split('\r\n')
  assert.deepEqual(lines, [
    'code,voucher_type,value',
    'JS-EXP-1,DISCOUNT_VOUCHER,500',
    'JS-EXP-2,DISCOUNT_VOUCHER,500',
    'JS-EXP-3,DISCOUNT_VOUCHER,500',
  ])
})

await step('exports.list shows it', async () => {
  const list = await client.distributions.exports.list()
  assert.equal(list.object, 'list')
  assert.equal(list.data_ref, 'exports')
  assert.equal(list.total, 1)
  assert.equal(list.exports[0].id, created.id)
})

await step('exports.delete, then get is a 404', async () => {
  await client.distributions.exports.delete(created.id)
  await assert.rejects(client.distributions.exports.get(created.id), (error) => {
    assert.equal(error.code, 404)
    assert.equal(error.key, 'not_found')
    return true
  })
})

finish()
