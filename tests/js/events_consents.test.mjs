// The official Voucherify JS SDK (@voucherify/sdk, unchanged) against a live Patrons server:
// events.create, customers.updateConsents and consents.list (issue 18).
//
//   PATRONS_URL=http://127.0.0.1:8000 APP_ID=... APP_TOKEN=... node tests/js/events_consents.test.mjs
//
// The project behind APP_ID must be fresh. Prints one line per step; exits non-zero on a failure.
// Run by tests/consents/test_js_sdk.py on SQLite and PostgreSQL.

import assert from 'node:assert/strict'

import { client, finish, step } from './harness.mjs'

const SOURCE_ID = 'js-ev a/b@x.com' // sent percent-encoded by the SDK

await step('events.create upserts the customer and answers the event object', async () => {
  const answer = await client.events.create('cart_abandoned', {
    customer: { source_id: SOURCE_ID, name: 'Ada', metadata: { tier: 'gold' } },
    metadata: { flag: true },
  })
  assert.equal(answer.object, 'event')
  assert.equal(answer.type, 'cart_abandoned')
  assert.equal(answer.customer.source_id, SOURCE_ID)
  assert.deepEqual(answer.customer.metadata, { tier: 'gold' })
  assert.equal(answer.referral, null)
  assert.equal(answer.loyalty, null)
  assert.deepEqual(answer.metadata, { flag: true })
})

await step('the custom event is in the customer activities', async () => {
  const listed = await client.customers.listActivities(SOURCE_ID)
  const types = listed.data.map((e) => e.type)
  assert.ok(types.includes('customer.custom_event'), types.join(','))
})

await step('events.create for an unknown customer id is a 404', async () => {
  await assert.rejects(
    client.events.create('x', { customer: { id: 'cust_nobody' } }),
    (error) => error.code === 404 && error.key === 'not_found',
  )
})

await step('customers.updateConsents stores the consents (204, no body)', async () => {
  const answer = await client.customers.updateConsents(SOURCE_ID, { cnst_news: true, cnst_sms: false })
  assert.ok(answer === undefined || answer === '', `a 204 has no body, got ${answer}`) // axios: ''
  const customer = await client.customers.get(SOURCE_ID)
  assert.equal(customer.system_metadata.consents.cnst_news.value, true)
  assert.equal(customer.system_metadata.consents.cnst_sms.value, false)
})

await step('customers.updateConsents with unsubscribed withdraws every consent', async () => {
  await client.customers.updateConsents(SOURCE_ID, { unsubscribed: true })
  const customer = await client.customers.get(SOURCE_ID)
  assert.equal(customer.system_metadata.consents.cnst_news.value, false)
  assert.equal(customer.system_metadata.consents.unsubscribed.value, true)
})

await step('consents.list lists the consent ids set', async () => {
  const listed = await client.consents.list()
  assert.equal(listed.groups.object, 'list')
  assert.equal(listed.groups.total, 0)
  assert.equal(listed.consents.data_ref, 'data')
  assert.equal(listed.consents.total, 2)
  assert.deepEqual(
    listed.consents.data.map((c) => [c.id, c.object]),
    [
      ['cnst_news', 'consent'],
      ['cnst_sms', 'consent'],
    ],
  )
})

await step('customers.updateConsents for an unknown customer is a 404', async () => {
  await assert.rejects(
    client.customers.updateConsents('nobody-here', { cnst_news: true }),
    (error) => error.code === 404,
  )
})

finish()
