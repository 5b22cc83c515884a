// The policy parameters as dated, versioned data. Each parameter names the clause it comes
// from and whether its value is this project's assumption (RULES.md marks those). The database
// keeps the same document in `policy_versions`; this copy is the built-in default that the
// calculator uses when no other version is given. Keys are `<program>.<name>` or
// `common.<name>`; values are strings read by the same strict parsers as request fields.
let builtInPolicyJSON = #"""
{
  "versions": [
    {
      "id": "chengdu-zjtx-2024",
      "title": "成都市支持中小企业专精特新发展若干政策 (annex 2, items 6, 8, 9 and the closing clause)",
      "validFrom": "2024-01-01",
      "parameters": [
        { "key": "common.dayBasis", "value": "360", "clause": "RULES.md §1 日利率 = 年利率 / 360", "assumption": false },
        { "key": "common.effectiveFrom", "value": "2024-01-01", "clause": "成都专精特新政策 附则（印发之日起30个工作日后施行）", "assumption": true },
        { "key": "common.effectiveTo", "value": "2026-12-31", "clause": "成都专精特新政策 附则（有效期3年）", "assumption": true },
        { "key": "common.qualificationTermYears", "value": "3", "clause": "优质中小企业梯度培育管理暂行办法（认定有效期3年）", "assumption": false },

        { "key": "zhuangda.ratio", "value": "50", "clause": "成都专精特新政策 第6条（不高于50%的比例）", "assumption": false },
        { "key": "zhuangda.ratioMax", "value": "50", "clause": "成都专精特新政策 第6条（不高于50%的比例）", "assumption": false },
        { "key": "zhuangda.firmCap", "value": "800000.00", "clause": "成都专精特新政策 第6条（最高80万元贴息补助）", "assumption": false },
        { "key": "zhuangda.firmCapMax", "value": "800000.00", "clause": "成都专精特新政策 第6条（最高80万元贴息补助）", "assumption": false },
        { "key": "zhuangda.lprReference", "value": "loanStart", "clause": "成都专精特新政策 第6条（按同期贷款市场报价利率计算）", "assumption": true },

        { "key": "xinyidai.tiers.xinedai", "value": "1.0", "clause": "成都专精特新政策 第6条（分梯度给予贷款利息补贴）", "assumption": true },
        { "key": "xinyidai.tiers.huiye", "value": "1.5", "clause": "成都专精特新政策 第6条（分梯度给予贷款利息补贴）", "assumption": true },
        { "key": "xinyidai.tiers.peiyou", "value": "1.5", "clause": "成都专精特新政策 第6条（分梯度给予贷款利息补贴）", "assumption": true },
        { "key": "xinyidai.tiers.touliandai", "value": "2.0", "clause": "成都专精特新政策 第6条（分梯度给予贷款利息补贴）", "assumption": true },
        { "key": "xinyidai.tierMax", "value": "2", "clause": "成都专精特新政策 第6条（补贴金额最高不超过贷款金额的2%）", "assumption": false },
        { "key": "xinyidai.creditLine", "value": "50000000.00", "clause": "成都专精特新政策 第6条（最高5000万元授信额度）", "assumption": false },
        { "key": "xinyidai.creditLineMax", "value": "50000000.00", "clause": "成都专精特新政策 第6条（最高5000万元授信额度）", "assumption": false },
        { "key": "xinyidai.firmCap", "value": "600000.00", "clause": "成都专精特新政策 第6条（单户企业最高补贴60万元）", "assumption": false },
        { "key": "xinyidai.firmCapMax", "value": "600000.00", "clause": "成都专精特新政策 第6条（单户企业最高补贴60万元）", "assumption": false },

        { "key": "equity.rate", "value": "5", "clause": "成都专精特新政策 第8条（不超过实际投资金额5%）", "assumption": false },
        { "key": "equity.rateMax", "value": "5", "clause": "成都专精特新政策 第8条（不超过实际投资金额5%）", "assumption": false },
        { "key": "equity.pairCap", "value": "300000.00", "clause": "成都专精特新政策 第8条（每投资1家企业最高奖励30万元）", "assumption": false },
        { "key": "equity.pairCapMax", "value": "300000.00", "clause": "成都专精特新政策 第8条（每投资1家企业最高奖励30万元）", "assumption": false },
        { "key": "equity.investorCap", "value": "800000.00", "clause": "成都专精特新政策 第8条（每家股权投资企业年度累计奖励金额最高80万元）", "assumption": false },
        { "key": "equity.investorCapMax", "value": "800000.00", "clause": "成都专精特新政策 第8条（每家股权投资企业年度累计奖励金额最高80万元）", "assumption": false },

        { "key": "fund.rate", "value": "1", "clause": "成都专精特新政策 第9条（按基金对该企业股权投资额的1%）", "assumption": false },
        { "key": "fund.rateMax", "value": "1", "clause": "成都专精特新政策 第9条（按基金对该企业股权投资额的1%）", "assumption": false },
        { "key": "fund.pairCap", "value": "500000.00", "clause": "成都专精特新政策 第9条（最高50万元的一次性奖励）", "assumption": false },
        { "key": "fund.pairCapMax", "value": "500000.00", "clause": "成都专精特新政策 第9条（最高50万元的一次性奖励）", "assumption": false },
        { "key": "fund.recognitionYears", "value": "2", "clause": "成都专精特新政策 第9条（2年内被认定）", "assumption": false },
        { "key": "fund.recognitionYearsMax", "value": "2", "clause": "成都专精特新政策 第9条（2年内被认定）", "assumption": false },

        { "key": "guarantee.payee", "value": "firm", "clause": "四川纾困帮扶措施 第3条（融资担保降费奖补）", "assumption": true },
        { "key": "guarantee.maxFeeRate", "value": "3", "clause": "四川纾困帮扶措施 第3条（融资担保降费）", "assumption": true },
        { "key": "guarantee.feeCeilingRate", "value": "1", "clause": "重庆万千百十计划（担保费补贴）", "assumption": true },
        { "key": "guarantee.offsetRatio", "value": "50", "clause": "重庆万千百十计划（担保费补贴）", "assumption": true },
        { "key": "guarantee.firmCap", "value": "200000.00", "clause": "四川纾困帮扶措施 第3条（融资担保降费奖补）", "assumption": true }
      ]
    }
  ]
}
"""#
