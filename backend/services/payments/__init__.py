"""Paying property-fee bills with WeChat Pay (JSAPI), through backend/wechatpay.py:

- orders.py: who may pay, one order per selection of a room's unpaid bills (amounts
  from the database), prepay and the ``wx.requestPayment`` parameters;
- settle.py: the one place bills are marked paid (notification, query, reconciliation)
  and orders closed; refunds' outcomes;
- refunds.py: a manager's full or partial refund;
- invoices.py: invoice requests (统一社会信用代码 checked) and the desk's queue;
- standin.py: the development stand-in that signs notifications as WeChat Pay does.
"""
