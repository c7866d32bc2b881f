"""Synthetic budget-system export calibrated to the seed report (历城区 2023 年预算绩效管理情况说明).

``write_demo(out_dir, seed)`` writes a folder that looks like what a finance bureau exports from its
budget system (Chinese headers, some xlsx and some csv, one csv in GBK, one money column in 万元,
a trailing 合计 row, one workbook with two sheets). Whatever the seed, the SPEC computations on it give
exactly the seed's figures (511 projects with targets, 609 monitored projects with 936,947 万元 …);
names, distributions and indicators vary with the seed. Money is handled in integer fen (分) so
that every calibrated sum is exact.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ..schema import (
    EXPENDITURE_HEADS,
    HEAD_BUDGET_PREFIX,
    HEAD_OUTTURN_PREFIX,
    TABLES,
)

# ---------------------------------------------------------------------------------------------
# The seed's figures (元 unless stated). Money constants below are in 元; the generator works in fen.
# ---------------------------------------------------------------------------------------------
YEAR = 2023
YEARS = (2021, 2022, 2023)
AS_OF_MONTH = 7
TARGETS_PROJECTS = 511                       # 2023 projects with project-level targets (all eligible)
TARGETS_PROJECTS_PREV = 391                  # 2022
TARGETS_AMOUNT_RANGE = (8_780_000_000, 8_820_000_000)   # Σ 年初预算数; rounds to 88 亿元
ELIGIBLE_WITHOUT_TARGETS_PREV = 12           # 2022 eligible projects left without targets
MONITORING_OTHERS = 98                       # 609 − 511 non-classified, non-eligible 2023 projects
MONITORING_BUDGET = 9_369_470_000            # 936,947 万元
MONITORING_SPENT = 2_948_750_000             # 294,875 万元 paid by 2023-07-31
KEY_MONITORED = (                            # (department, project, budget 元); Σ = 620 万元
    ("区教体局", "运动场地建设资金", 3_000_000),
    ("区科技局", "人才工程项目", 1_200_000),
    ("区科技局", "科技创新发展资金", 2_000_000),
)
SELFEVAL = {                                 # fiscal year → (projects, Σ budget range 元)
    2022: (2157, (24_170_000_000, 24_230_000_000)),   # 242 亿元
    2021: (315, (2_880_000_000, 2_920_000_000)),      # 29 亿元
}
KEYEVAL_AMOUNT = 2_415_000_000               # 24.15 亿元
KEYEVAL_REQUEST = 1_041_780_000
KEYEVAL_CUT = 192_000_000                    # 1.92 亿元, cut rate 18.43 %
COST_SAVINGS_TOTAL = 7_270_000               # 727 万元 over the five standards
CLASSIFIED_PER_YEAR = {2021: 2, 2022: 3, 2023: 4}

CITY_CODE = "370112"                         # 历城区 administrative division code
FIXED_TIMESTAMP = dt.datetime(2023, 8, 15, 9, 0, 0)

FEN = 100

# ---------------------------------------------------------------------------------------------
# Departments
# ---------------------------------------------------------------------------------------------
# (name, sector, weight for drawing projects)
LEVEL1_DEPARTMENTS = (
    ("区委办公室", "一般公共服务", 1), ("区人大常委会办公室", "一般公共服务", 1),
    ("区政府办公室", "一般公共服务", 1.5), ("区政协办公室", "一般公共服务", 1),
    ("区纪委监委", "一般公共服务", 1), ("区委组织部", "一般公共服务", 1.5),
    ("区委宣传部", "文化旅游", 1.5), ("区委统战部", "一般公共服务", 1),
    ("区委政法委", "公共安全", 1.5), ("区委编办", "一般公共服务", 0.5),
    ("区委党校", "教育", 1), ("区委老干部局", "一般公共服务", 1),
    ("区委网信办", "一般公共服务", 0.5), ("区委机关工委", "一般公共服务", 0.5),
    ("区发展和改革局", "产业", 2), ("区教体局", "教育", 8),
    ("区科技局", "科技", 3), ("区工业和信息化局", "产业", 2.5),
    ("区民政局", "民政", 4), ("区司法局", "公共安全", 1.5),
    ("区财政局", "一般公共服务", 2.5), ("区人力资源和社会保障局", "社会保障", 4),
    ("区自然资源局", "自然资源", 2.5), ("区住建局", "住房城乡建设", 5),
    ("区城管局", "城市管理", 6), ("区交通运输局", "交通运输", 3.5),
    ("区水务局", "农林水", 3), ("区农业农村局", "农林水", 5),
    ("区商务局", "商务", 2.5), ("区文旅局", "文化旅游", 3),
    ("区卫健局", "卫生健康", 7), ("区退役军人事务局", "社会保障", 2),
    ("区应急局", "公共安全", 2.5), ("区审计局", "一般公共服务", 1),
    ("区市场监管局", "一般公共服务", 2), ("区统计局", "一般公共服务", 1),
    ("区医保局", "卫生健康", 2.5), ("区信访局", "一般公共服务", 1),
    ("区大数据局", "一般公共服务", 2), ("区行政审批服务局", "一般公共服务", 1.5),
    ("区消防救援大队", "公共安全", 2), ("区公安分局", "公共安全", 4),
    ("区人民法院", "公共安全", 2), ("区人民检察院", "公共安全", 1.5),
    ("区总工会", "社会保障", 1), ("团区委", "一般公共服务", 0.5),
    ("区妇联", "社会保障", 0.5), ("区科协", "科技", 0.5),
    ("区残联", "社会保障", 1.5), ("区工商联", "一般公共服务", 0.5),
    ("区红十字会", "卫生健康", 0.5), ("区档案馆", "一般公共服务", 0.5),
    ("区融媒体中心", "文化旅游", 1), ("区机关事务服务中心", "一般公共服务", 2),
    ("区投资促进中心", "商务", 1.5), ("区城市更新服务中心", "住房城乡建设", 2.5),
    ("区园林绿化服务中心", "城市管理", 2.5), ("区住房保障服务中心", "住房城乡建设", 2),
    ("区征收服务中心", "住房城乡建设", 2), ("区国有资产运营中心", "产业", 1.5),
    ("临港开发区管委会", "产业", 3), ("区生态环境分局", "生态环境", 2.5),
    ("区供销社", "农林水", 0.5), ("区林业保护发展中心", "农林水", 1.5),
    ("区金融服务中心", "商务", 1),
)
STREETS = (
    "东风街道办事处", "全福街道办事处", "洪家楼街道办事处", "山大路街道办事处", "王舍人街道办事处",
    "华山街道办事处", "荷花路街道办事处", "唐冶街道办事处", "港沟街道办事处", "郭店街道办事处",
    "鲍山街道办事处", "遥墙街道办事处",
)
SUBUNITS = {  # level-2 units (预算单位) under a level-1 department
    "区教体局": (("区实验小学", "教育"), ("区第一中学", "教育"), ("区第二中学", "教育"),
                ("区唐冶中学", "教育"), ("区职业中等专业学校", "教育"), ("区实验幼儿园", "教育"),
                ("区教育教学研究中心", "教育"), ("区体育运动发展中心", "教育")),
    "区卫健局": (("区人民医院", "卫生健康"), ("区中医医院", "卫生健康"),
                ("区疾病预防控制中心", "卫生健康"), ("区妇幼保健院", "卫生健康"),
                ("区卫生健康综合执法大队", "卫生健康")),
    "区文旅局": (("区博物馆", "文化旅游"), ("区图书馆", "文化旅游"), ("区文化馆", "文化旅游")),
    "区消防救援大队": (("唐冶消防救援站", "公共安全"), ("王舍人消防救援站", "公共安全"),
                   ("港沟消防救援站", "公共安全"), ("遥墙消防救援站", "公共安全"),
                   ("华山消防救援站", "公共安全")),
    "区城管局": (("区环境卫生服务中心", "城市管理"), ("区市政工程服务中心", "城市管理")),
    "区农业农村局": (("区农业技术推广服务中心", "农林水"), ("区畜牧兽医服务中心", "农林水")),
    "区民政局": (("区社会福利中心", "民政"), ("区殡葬服务中心", "民政")),
}

# ---------------------------------------------------------------------------------------------
# Project names and indicators per sector
# ---------------------------------------------------------------------------------------------
def _split(text: str) -> tuple[str, ...]:
    return tuple(s for s in text.split("、") if s)


SECTOR_PROJECTS = {
    "教育": _split("中小学校舍维修改造、学生资助资金、教师培训经费、义务教育学校公用经费、学前教育发展资金、"
                 "校园安全保障经费、智慧校园建设、课后服务补助、教学仪器设备购置、校园食堂提升改造、"
                 "职业教育发展资金、青少年体育活动经费、教研活动经费、特殊教育发展经费、中小学校园改扩建"),
    "科技": _split("科技型中小企业培育资金、高新技术企业奖励、产学研合作补助、科技孵化器运营补助、"
                 "知识产权资助资金、科普活动经费、企业研发费用补助、科技成果转化奖励"),
    "卫生健康": _split("基本公共卫生服务项目、家庭医生签约服务经费、基层医疗机构设备购置、疫苗接种服务经费、"
                   "妇幼健康服务经费、卫生应急物资储备、医疗卫生人才培养、慢性病防治经费、院前急救能力提升、"
                   "村卫生室运行补助、医疗救助资金、医疗保障经办服务经费"),
    "民政": _split("城乡低保资金、特困人员供养经费、居家养老服务补贴、社区养老服务中心运营补助、残疾人两项补贴、"
                 "临时救助资金、社会组织培育经费、殡葬服务改革经费、儿童福利保障经费、社区治理创新经费"),
    "社会保障": _split("就业创业补贴、职业技能培训补贴、退役军人优抚经费、公益性岗位补贴、高校毕业生就业见习补贴、"
                   "劳动保障监察经费、困难职工帮扶资金、残疾人康复救助资金"),
    "城市管理": _split("环卫作业经费、垃圾分类推进经费、市政设施维护经费、城市绿化养护经费、路灯维护及电费、"
                   "数字城管运行经费、违法建设治理经费、公厕运行维护经费、户外广告整治经费、餐厨垃圾处理经费"),
    "住房城乡建设": _split("老旧小区改造、棚户区改造安置补助、建筑工地扬尘治理、保障性租赁住房补贴、既有建筑节能改造、"
                     "房屋安全鉴定经费、物业管理提升补助、城市更新片区规划编制、安置房建设"),
    "交通运输": _split("农村公路养护资金、公交运营补贴、道路交通设施维护、交通安全设施完善、城乡公交一体化补助、"
                   "桥梁检测加固"),
    "农林水": _split("农业社会化服务补助、河长制工作经费、防汛抗旱物资储备、农田水利设施维护、动物防疫经费、"
                  "林业有害生物防治、森林防火经费、农村饮水安全维护、耕地地力保护补贴、村级组织运转经费、"
                  "美丽乡村建设"),
    "文化旅游": _split("公共文化服务活动经费、非遗保护传承经费、全民健身活动经费、文艺精品创作扶持、旅游宣传推介经费、"
                   "农家书屋运行经费、文物保护修缮、数字文化馆建设"),
    "公共安全": _split("社会治安综合治理经费、法律援助经费、人民调解经费、执法办案经费、智慧公安建设、"
                   "应急救援物资储备、安全生产监管经费、防灾减灾宣传经费、矛盾纠纷多元化解、社区矫正经费"),
    "商务": _split("外贸发展扶持资金、招商引资活动经费、电子商务发展资金、老字号品牌扶持、夜间经济发展补助、"
                 "市场保供稳价经费"),
    "产业": _split("工业企业技术改造补助、数字经济发展扶持资金、中小企业服务体系建设、园区基础设施维护、"
                 "新旧动能转换项目扶持、产业链招商专项经费"),
    "自然资源": _split("国土空间规划编制、地质灾害防治经费、土地整治项目、不动产登记服务经费、耕地保护监测经费"),
    "生态环境": _split("大气污染防治经费、水污染防治经费、环境监测能力建设、土壤污染防治、生态环境执法经费"),
    "一般公共服务": _split("信息化系统运维经费、政务服务提升经费、档案数字化经费、宣传工作经费、法律顾问服务费、"
                     "业务专项经费、统计调查经费、党建工作经费、干部教育培训经费、专项调研经费"),
    "街道": _split("社区工作者补贴、网格化管理经费、社区党群服务中心运行经费、背街小巷整治、城乡环境综合整治、"
                 "安全生产巡查经费、文明城市创建经费、社区居家养老服务、防汛应急经费、村（居）办公经费补助"),
}
TRANSFER_PREFIXES = ("中央财政", "省级", "市级")
BOND_SUBJECTS = _split("片区棚户区改造、道路及配套管网建设、安置房建设、学校建设、医院建设、污水处理设施建设、"
                       "公共停车场建设、产业园区基础设施建设")
BOND_SECTORS = ("住房城乡建设", "城市管理", "交通运输", "教育", "卫生健康", "农林水", "产业", "街道")
SPECIAL_PROJECTS = (  # 本级 特殊资金 (name, budget kind)
    ("人员类专项经费", "一般公共预算"), ("离退休人员待遇补助", "一般公共预算"),
    ("城乡居民基本养老保险基金支出", "社会保险基金预算"), ("城乡居民基本医疗保险基金支出", "社会保险基金预算"),
    ("机关事业单位养老保险基金支出", "社会保险基金预算"), ("国有企业资本金注入", "国有资本经营预算"),
    ("国有企业退休人员社会化管理补助", "国有资本经营预算"), ("政府债务还本付息", "一般公共预算"),
    ("土地出让业务支出", "政府性基金预算"), ("彩票公益金安排项目", "政府性基金预算"),
)
CLASSIFIED_NAMES = ("某专项保障经费", "某安全保密专项经费", "某重点任务保障经费", "某特殊业务经费",
                    "某专项工作经费")
KEY_EVALUATIONS = (  # (department, project name, domain)
    ("区商务局", "汽车促消费电子惠民券", "拉动消费"),
    ("区商务局", "家电以旧换新消费补贴", "拉动消费"),
    ("区文旅局", "文旅消费惠民券", "拉动消费"),
    ("区商务局", "夜间经济消费季活动", "拉动消费"),
    ("区国有资产运营中心", "区产业发展引导基金", "基金运作"),
    ("区科技局", "科技成果转化引导基金", "基金运作"),
    ("临港开发区管委会", "临港开发区园区综合建设", "基金运作"),
    ("区工业和信息化局", "中小企业应急转贷基金", "基金运作"),
    ("区农业农村局", "高标准农田建设", "乡村振兴"),
    ("区农业农村局", "农村人居环境整治提升", "乡村振兴"),
    ("区农业农村局", "乡村振兴示范片区建设", "乡村振兴"),
    ("区交通运输局", "农村公路提档升级", "乡村振兴"),
    ("区卫健局", "唐冶（三甲）医院", "公共卫生"),
    ("区卫健局", "基层医疗卫生机构标准化建设", "公共卫生"),
    ("区疾病预防控制中心", "疾病预防控制能力提升", "公共卫生"),
    ("区卫健局", "突发公共卫生事件应急物资储备", "公共卫生"),
)
KEYEVAL_GRADES = ("优", "优", "良", "良", "良", "良", "良", "中", "中", "中", "中", "中", "差", "差", "良", "中")
KEYEVAL_FINDINGS = {
    "优": ("绩效目标明确，资金使用规范，个别产出指标佐证资料不够完整。",
          "项目管理规范，成效明显，建议进一步细化成本核算。"),
    "良": ("绩效目标设置不够细化，部分指标难以量化考核。", "资金拨付进度偏慢，项目实施与预算执行衔接不够紧密。",
          "过程管理资料归档不完整，部分合同履约监管不到位。"),
    "中": ("前期论证不充分，预算编制与实际需求偏差较大。", "绩效管理意识淡薄，绩效目标与项目内容关联度不高。",
          "资金使用效益不高，部分资金长期沉淀未形成实际支出。"),
    "差": ("部门单位绩效管理意识淡薄，项目立项依据不足，资金使用效益不高。",
          "项目进度严重滞后，资金闲置，预期效益未能实现，建议压减或取消。"),
}

# Sector indicator pools: 数量指标 (name, unit, low, high).
QUANTITY_INDICATORS = {
    "教育": (("资助学生人数", "人", 200, 5000), ("校舍维修面积", "平方米", 2000, 30000),
           ("培训教师人次", "人次", 100, 2000), ("配备教学设备", "台（套）", 50, 1000)),
    "科技": (("支持企业数量", "家", 10, 200), ("引进培育人才数", "人", 10, 200), ("孵化项目数", "个", 5, 60)),
    "卫生健康": (("服务人次", "人次", 5000, 200000), ("设备采购数量", "台", 5, 100),
             ("健康档案建档人数", "人", 10000, 300000)),
    "民政": (("救助保障人数", "人", 100, 5000), ("养老服务人次", "人次", 1000, 50000)),
    "社会保障": (("补贴发放人数", "人", 500, 30000), ("培训人次", "人次", 100, 5000)),
    "城市管理": (("保洁面积", "平方米", 1200000, 4000000), ("垃圾清运量", "吨", 5000, 60000),
             ("绿化养护面积", "平方米", 50000, 800000)),
    "住房城乡建设": (("改造小区数量", "个", 5, 60), ("惠及居民户数", "户", 500, 20000)),
    "交通运输": (("养护道路里程", "公里", 10, 300), ("补贴公交线路", "条", 5, 50)),
    "农林水": (("治理面积", "亩", 1000, 20000), ("改造农村户厕", "户", 200, 5000), ("河道治理长度", "公里", 5, 60)),
    "文化旅游": (("举办活动场次", "场", 10, 200), ("服务群众人次", "人次", 20000, 500000)),
    "公共安全": (("开展检查次数", "次", 50, 2000), ("办理案件数量", "件", 100, 3000)),
    "商务": (("参与商户数量", "家", 50, 2000), ("举办促消费活动", "场", 5, 60)),
    "产业": (("支持企业数量", "家", 10, 300), ("服务企业人次", "人次", 200, 5000)),
    "自然资源": (("完成调查面积", "平方公里", 10, 200), ("办理登记业务量", "件", 1000, 30000)),
    "生态环境": (("监测点位数量", "个", 10, 100), ("执法检查企业数", "家", 100, 2000)),
    "一般公共服务": (("完成专项工作任务数", "项", 5, 50), ("运维系统数量", "个", 3, 30)),
    "街道": (("服务居民人次", "人次", 1000, 50000), ("整治点位数量", "个", 10, 200)),
}
QUALITY_INDICATORS = (("验收合格率", "≥", 95), ("资金发放准确率", "=", 100), ("设备完好率", "≥", 95),
                      ("服务达标率", "≥", 90))
TIMELINESS_INDICATORS = (("按时完成率", "=", 100), ("资金拨付及时率", "≥", 95))
EFFECT_INDICATORS = (  # (name, level2, direction, target, unit)
    ("群众满意度提升", "社会效益指标", "定性", "有效提升", ""),
    ("服务保障能力", "社会效益指标", "定性", "明显提升", ""),
    ("长效管理机制", "可持续影响指标", "定性", "健全", ""),
    ("政策知晓率", "社会效益指标", "≥", "90", "%"),
    ("问题整改率", "社会效益指标", "≥", "95", "%"),
    ("带动社会投资增长率", "经济效益指标", "≥", "5", "%"),
    ("投诉率", "社会效益指标", "≤", "5", "%"),
)
SATISFACTION_INDICATORS = (("服务对象满意度", 90), ("群众满意度", 85), ("受益对象满意度", 90))
DEPT_INDICATORS = (  # department-level targets (level1, level2, name, direction, value, unit, weight)
    ("产出指标", "数量指标", "重点工作任务完成数", "≥", None, "项", 20),
    ("产出指标", "质量指标", "重点工作任务完成率", "≥", "95", "%", 15),
    ("产出指标", "时效指标", "部门预算执行率", "≥", "90", "%", 15),
    ("成本指标", "经济成本指标", "“三公”经费控制率", "≤", "100", "%", 0),
    ("效益指标", "社会效益指标", "履职效能", "定性", "显著提升", "", 30),
    ("满意度指标", "服务对象满意度指标", "社会公众满意度", "≥", "90", "%", 10),
)
DEVIATION_REASONS = ("经费保障", "制度保障", "人员保障", "硬件条件保障", "其他")
QUALITATIVE_GRADES = ("优", "良", "中", "差")

# ---------------------------------------------------------------------------------------------
# Cost pilots (成本预算绩效管理试点)
# ---------------------------------------------------------------------------------------------
COST_ELEMENTS = ("人员经费", "商品和服务支出", "委托业务费", "设备购置/折旧", "其他")


@dataclass(frozen=True)
class CostType:
    """One pilot project type: its output, typical quantity and unit cost, and cost structure."""

    output: str
    unit: str
    quantity: tuple[float, float]
    quantity_step: int
    unit_cost: float       # 元 per unit of output per year
    spread: float          # coefficient of variation of a unit's persistent cost level
    shares: tuple[float, ...]   # mean shares of COST_ELEMENTS
    savings_share: float   # share of the 727 万元 this type is calibrated to


COST_TYPES = {
    "道路保洁": CostType("保洁面积", "平方米", (600_000, 1_600_000), 1000, 6.2, 0.06,
                     (0.15, 0.10, 0.62, 0.10, 0.03), 0.40),
    "文博场馆运行": CostType("参观人次", "人次", (90_000, 260_000), 100, 38.0, 0.07,
                       (0.45, 0.30, 0.12, 0.10, 0.03), 0.13),
    "消防业务": CostType("出警次数", "次", (500, 1500), 1, 9_000.0, 0.06,
                     (0.50, 0.20, 0.05, 0.22, 0.03), 0.22),
    "物业管理": CostType("物业面积", "平方米", (4_000, 30_000), 100, 36.0, 0.07,
                     (0.05, 0.15, 0.75, 0.03, 0.02), 0.15),
    "公务接待": CostType("接待人次", "人次", (300, 2_500), 10, 120.0, 0.07,
                     (0.0, 0.88, 0.04, 0.0, 0.08), 0.10),
}
VENUES = ("区博物馆", "区图书馆", "区文化馆")
FIRE_STATIONS = ("唐冶消防救援站", "王舍人消防救援站", "港沟消防救援站", "遥墙消防救援站", "华山消防救援站")
PROPERTY_UNITS = 15
RECEPTION_UNITS = 15

# Back-loaded monthly payment profile (slow Q1, December spike).
MONTH_PROFILE = np.array([3.0, 4.5, 6.5, 7.0, 7.5, 8.0, 7.5, 8.0, 8.5, 9.0, 10.0, 20.5])


# ---------------------------------------------------------------------------------------------
# Small exact-money helpers (integer fen)
# ---------------------------------------------------------------------------------------------
def _scale_to_total(raw: np.ndarray, total: int, step: int = 100 * FEN) -> np.ndarray:
    """Integer amounts proportional to ``raw``, rounded to ``step`` fen, summing exactly to ``total``."""
    raw = np.asarray(raw, dtype=float)
    if len(raw) == 0:
        if total:
            raise ValueError("nothing to carry a non-zero total")
        return np.zeros(0, dtype=np.int64)
    x = raw / raw.sum() * total
    out = (np.rint(x / step) * step).astype(np.int64)
    out[np.argmax(out)] += total - out.sum()
    if (out < 0).any():
        raise ValueError("calibration produced a negative amount")
    return out


def _split_groups(group: np.ndarray, weight: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Split ``totals[g]`` (fen) over the rows of each group in proportion to ``weight``, exactly.

    ``group`` must be sorted (rows of a group contiguous). Cumulative rounding keeps every share
    non-negative and each group's shares summing exactly to its total.
    """
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    w = np.asarray(weight, dtype=float)
    start = np.r_[True, group[1:] != group[:-1]]
    last = np.r_[group[1:] != group[:-1], True]
    gid = np.cumsum(start) - 1
    cs = np.cumsum(w)
    before = (cs - w)[start][gid]
    end = cs[last][gid]
    span = end - before
    frac = np.where(span > 0, (cs - before) / np.where(span > 0, span, 1), 1.0)
    frac[last] = 1.0
    cum = np.rint(frac * totals[group]).astype(np.int64)
    prev = np.r_[0, cum[:-1]]
    prev[start] = 0
    return cum - prev


def _fen_text(fen: pd.Series | np.ndarray) -> pd.Series:
    """Fen → exact decimal text in 元 (e.g. 123456 → '1234.56')."""
    f = pd.Series(np.asarray(fen, dtype=np.int64))
    return (f // FEN).astype(str) + "." + (f % FEN).astype(str).str.zfill(2)


def _nice(x: float) -> int:
    """Round a target value to two significant digits (as people write targets)."""
    if x <= 0:
        return 0
    mag = 10 ** max(int(np.floor(np.log10(x))) - 1, 0)
    return int(round(x / mag) * mag)


def _num_text(x: float) -> str:
    """A number as an indicator value: integers without decimals, others with up to 2."""
    if abs(x - round(x)) < 1e-9:
        return str(int(round(x)))
    return f"{x:.2f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------
@dataclass
class DemoData:
    """The generated tables with canonical column names; money columns in integer fen (``*_fen``)."""

    departments: pd.DataFrame
    projects: pd.DataFrame
    targets: pd.DataFrame
    payments: pd.DataFrame
    monitoring: pd.DataFrame
    self_evaluations: pd.DataFrame
    self_eval_indicators: pd.DataFrame
    key_evaluations: pd.DataFrame
    costs: pd.DataFrame
    outputs: pd.DataFrame
    street_fiscal: pd.DataFrame
    notes: dict = field(default_factory=dict)

    def frames(self) -> dict[str, pd.DataFrame]:
        """Canonical tables with money as float 元 (e.g. for ``Store.from_frames``)."""
        out = {}
        for name in TABLES:
            df = getattr(self, name).copy()
            for c in TABLES[name].money_columns:
                fen = df.pop(c + "_fen")
                df[c] = fen.astype("float64") / FEN
            out[name] = df[[c.name for c in TABLES[name].columns]]
        return out


class _Generator:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.rows: list[dict] = []        # project rows, all years
        self.line_count = 0
        self.notes: dict = {}

    # --- departments ----------------------------------------------------------------------
    def departments(self) -> pd.DataFrame:
        rows = []
        for i, (name, sector, weight) in enumerate(LEVEL1_DEPARTMENTS):
            rows.append(dict(dept_code=f"{101 + i}", dept_name=name, parent_code=None, sector=sector,
                             is_street=False, weight=weight))
        for i, name in enumerate(STREETS):
            rows.append(dict(dept_code=f"{201 + i}", dept_name=name, parent_code=None, sector="街道",
                             is_street=True, weight=2.0))
        codes = {r["dept_name"]: r["dept_code"] for r in rows}
        for parent, units in SUBUNITS.items():
            for j, (name, sector) in enumerate(units, 1):
                rows.append(dict(dept_code=f"{codes[parent]}{j:03d}", dept_name=name,
                                 parent_code=codes[parent], sector=sector, is_street=False, weight=1.0))
        df = pd.DataFrame(rows)
        assert (df["parent_code"].isna()).sum() == 77
        self.depts = df
        self.code_of = dict(zip(df["dept_name"], df["dept_code"]))
        self.sector_of = dict(zip(df["dept_code"], df["sector"]))
        self.name_of = dict(zip(df["dept_code"], df["dept_name"]))
        return df

    def _pick_depts(self, n: int, sectors: tuple[str, ...] | None = None) -> np.ndarray:
        d = self.depts
        if sectors is not None:
            d = d[d["sector"].isin(sectors)]
        p = d["weight"].to_numpy(float)
        return self.rng.choice(d["dept_code"].to_numpy(), size=n, p=p / p.sum())

    # --- project lines --------------------------------------------------------------------
    def _line(self) -> int:
        self.line_count += 1
        return self.line_count

    def _name_for(self, dept: str, fund: str) -> tuple[str, str]:
        """A plausible project name and budget kind for a new project of ``dept`` and fund source."""
        rng = self.rng
        sector = self.sector_of[dept]
        base = SECTOR_PROJECTS[sector][rng.integers(len(SECTOR_PROJECTS[sector]))]
        if fund == "本级":
            kind = "政府性基金预算" if sector in ("住房城乡建设", "自然资源") and rng.random() < 0.2 else "一般公共预算"
            return base, kind
        if fund == "上级转移支付":
            kind = "政府性基金预算" if rng.random() < 0.08 else "一般公共预算"
            return TRANSFER_PREFIXES[rng.integers(3)] + base, kind
        if fund == "直达资金":
            return base + "（直达资金）", "一般公共预算"
        if fund == "政府债券":
            own = self.name_of[dept]
            street = (own if own in STREETS else STREETS[rng.integers(len(STREETS))])[:-5]
            subject = BOND_SUBJECTS[rng.integers(len(BOND_SUBJECTS))]
            return f"{street}{subject}专项债券项目", "政府性基金预算"
        raise ValueError(fund)

    def new_projects(self, year: int, n: int, group: str, fund: str, *, special: bool = False,
                     classified: bool = False, sectors: tuple[str, ...] | None = None) -> list[dict]:
        """``n`` new project lines starting in ``year``."""
        depts = self._pick_depts(n, sectors)
        out = []
        for dept in depts:
            if classified:
                name, kind = CLASSIFIED_NAMES[len([r for r in self.rows if r["is_classified"]
                                                   and r["year"] == year])
                                              % len(CLASSIFIED_NAMES)], "一般公共预算"
            elif special:
                name, kind = SPECIAL_PROJECTS[self.rng.integers(len(SPECIAL_PROJECTS))]
            else:
                name, kind = self._name_for(dept, fund)
            row = dict(line=self._line(), year=year, dept_code=dept, project_name=name,
                       project_type=None, budget_kind=kind, fund_source=fund, is_special=special,
                       is_classified=classified, group=group)
            self.rows.append(row)
            out.append(row)
        return out

    def continue_projects(self, rows: list[dict], year: int, group: str) -> list[dict]:
        """The same project lines again in ``year`` (same code, name, department)."""
        out = []
        for r in rows:
            row = dict(r, year=year, group=group)
            self.rows.append(row)
            out.append(row)
        return out

    def add(self, year: int, dept_name: str, name: str, group: str, *, fund: str = "本级",
            kind: str = "一般公共预算", project_type: str | None = None, line: int | None = None) -> dict:
        row = dict(line=line or self._line(), year=year, dept_code=self.code_of[dept_name],
                   project_name=name, project_type=project_type, budget_kind=kind, fund_source=fund,
                   is_special=False, is_classified=False, group=group)
        self.rows.append(row)
        return row

    # --- build ----------------------------------------------------------------------------
    def build(self) -> DemoData:
        rng = self.rng
        self.departments()
        self.cost_pilots()
        self.project_sets()
        projects = self.assign_codes()
        self.budgets(projects)
        self.execution(projects)
        payments = self.payments(projects)
        spent = payments.groupby(["project_id", "year"])["amount_fen"].sum()
        projects["spent_fen"] = [int(spent.get((p, y), 0)) for p, y in
                                 zip(projects["project_id"], projects["year"])]
        targets, indicator_rows = self.targets(projects)
        selfevals, se_indicators = self.self_evaluations(projects, indicator_rows)
        monitoring = self.monitoring(projects, indicator_rows, payments)
        keyevals = self.key_evaluations(projects)
        costs, outputs = self.cost_tables(projects)
        street = self.street_fiscal()
        cols = [c.name for c in TABLES["projects"].columns if c.kind != "money"]
        proj_out = projects[cols + ["budget_amount_fen", "adjusted_amount_fen"]].copy()
        return DemoData(
            departments=self.depts.drop(columns="weight"),
            projects=proj_out,
            targets=targets,
            payments=payments,
            monitoring=monitoring,
            self_evaluations=selfevals,
            self_eval_indicators=se_indicators,
            key_evaluations=keyevals,
            costs=costs,
            outputs=outputs,
            street_fiscal=street,
            notes=self.notes,
        )

    # --- cost pilot projects (lines over 2021–2023) ----------------------------------------
    def cost_pilots(self) -> None:
        rng = self.rng
        pilots: list[tuple[str, str, str]] = []   # (type, dept name, project name)
        for street in STREETS:
            pilots.append(("道路保洁", street, f"{street[:-5]}道路保洁经费"))
        for venue in VENUES:
            pilots.append(("文博场馆运行", venue, f"{venue[1:]}运行经费"))
        for station in FIRE_STATIONS:
            pilots.append(("消防业务", station, f"{station}消防业务经费"))
        admin = [n for n, s, _ in LEVEL1_DEPARTMENTS if s in ("一般公共服务", "公共安全", "社会保障", "产业",
                                                             "商务", "自然资源", "科技")]
        chosen = rng.choice(len(admin), size=PROPERTY_UNITS + RECEPTION_UNITS, replace=False)
        for k, idx in enumerate(chosen):
            dept = admin[idx]
            if k < PROPERTY_UNITS:
                pilots.append(("物业管理", dept, "办公区物业管理服务费"))
            else:
                pilots.append(("公务接待", dept, "公务接待费"))
        self.pilot_lines = []
        for ptype, dept, name in pilots:
            line = self._line()
            self.pilot_lines.append(line)
            for year in YEARS:
                self.add(year, dept, name, "pilot", project_type=ptype, line=line)

    # --- which projects exist in which year ---------------------------------------------------
    def project_sets(self) -> None:
        rng = self.rng
        # 2021: 315 evaluated (50 pilots + 265), 14 not evaluated, classified.
        n_pilot = len(self.pilot_lines)
        e21 = self.new_projects(2021, 220, "eligible_t", "本级")
        o21 = (self.new_projects(2021, 28, "other", "上级转移支付")
               + self.new_projects(2021, 10, "other", "政府债券", sectors=BOND_SECTORS)
               + self.new_projects(2021, 7, "other", "本级", special=True))
        # 265 evaluated non-pilot: the 220 eligible + 45 others
        for r in e21 + o21:
            r["evaluated"] = True
        n21_noeval = self.new_projects(2021, 10, "noeval", "本级") + self.new_projects(
            2021, 4, "noeval", "上级转移支付")
        for r in n21_noeval:
            r["evaluated"] = False
        self.new_projects(2021, CLASSIFIED_PER_YEAR[2021], "classified", "本级", classified=True)
        assert n_pilot + len(e21) + len(o21) == SELFEVAL[2021][0]

        # 2022: 391 eligible with targets (50 pilots + 341), 12 eligible without targets, the rest.
        cont = [e21[i] for i in rng.choice(len(e21), size=150, replace=False)]
        e22 = self.continue_projects(cont, 2022, "eligible_t") + self.new_projects(
            2022, TARGETS_PROJECTS_PREV - n_pilot - 150, "eligible_t", "本级")
        nt22 = self.new_projects(2022, ELIGIBLE_WITHOUT_TARGETS_PREV, "eligible_nt", "本级")
        n_eval_other = SELFEVAL[2022][0] - n_pilot - len(e22) - 8
        n_transfer = int(n_eval_other * 0.5)
        n_direct = int(n_eval_other * 0.16)
        n_bond = int(n_eval_other * 0.08)
        n_special = n_eval_other - n_transfer - n_direct - n_bond
        o22 = (self.new_projects(2022, n_transfer, "other", "上级转移支付")
               + self.new_projects(2022, n_direct, "other", "直达资金")
               + self.new_projects(2022, n_bond, "other", "政府债券", sectors=BOND_SECTORS)
               + self.new_projects(2022, n_special, "other", "本级", special=True))
        for r in e22 + o22 + nt22[:8]:
            r["evaluated"] = True
        for r in nt22[8:]:
            r["evaluated"] = False
        n22_noeval = self.new_projects(2022, 14, "noeval", "上级转移支付") + self.new_projects(
            2022, 6, "noeval", "本级", special=True)
        for r in n22_noeval:
            r["evaluated"] = False
        cls21 = [r for r in self.rows if r["year"] == 2021 and r["is_classified"]]
        self.continue_projects(cls21[:1], 2022, "classified")
        self.new_projects(2022, CLASSIFIED_PER_YEAR[2022] - 1, "classified", "本级", classified=True)

        # 2023: 511 eligible (50 pilots, 3 key monitored, 16 key evaluations, 442 others), 98 others.
        for dept, name, _ in KEY_MONITORED:
            self.add(2023, dept, name, "key_monitored")
        for dept, name, _ in KEY_EVALUATIONS:
            kind = "政府性基金预算" if name == "临港开发区园区综合建设" else "一般公共预算"
            self.add(2023, dept, name, "key_eval", kind=kind)
        n_free = TARGETS_PROJECTS - n_pilot - len(KEY_MONITORED) - len(KEY_EVALUATIONS)
        cont = [e22[i] for i in rng.choice(len(e22), size=240, replace=False)]
        self.continue_projects(cont, 2023, "eligible_t")
        self.new_projects(2023, n_free - 240, "eligible_t", "本级")
        o22_transfer = [r for r in o22 if r["fund_source"] == "上级转移支付"]
        cont = [o22_transfer[i] for i in rng.choice(len(o22_transfer), size=30, replace=False)]
        self.continue_projects(cont, 2023, "other")
        self.new_projects(2023, 15, "other", "上级转移支付")
        self.new_projects(2023, 25, "other", "直达资金")
        self.new_projects(2023, 15, "other", "政府债券", sectors=BOND_SECTORS)
        self.new_projects(2023, MONITORING_OTHERS - 85, "other", "本级", special=True)
        cls22 = [r for r in self.rows if r["year"] == 2022 and r["is_classified"]]
        self.continue_projects(cls22[:2], 2023, "classified")
        self.new_projects(2023, CLASSIFIED_PER_YEAR[2023] - 2, "classified", "本级", classified=True)

    def assign_codes(self) -> pd.DataFrame:
        """Project codes ``370112-<first year>-<seq>``: a line keeps its code across years; names are
        made unique within a department and year."""
        df = pd.DataFrame(self.rows)
        df["evaluated"] = df["evaluated"].astype("boolean").fillna(True).astype(bool) \
            if "evaluated" in df else True
        first = df.groupby("line")["year"].transform("min")
        df["first_year"] = first
        lines = df.drop_duplicates("line").sort_values(["first_year", "dept_code", "line"])
        lines["seq"] = lines.groupby("first_year").cumcount() + 1
        code = {ln: f"{CITY_CODE}-{fy}-{seq:04d}" for ln, fy, seq in
                zip(lines["line"], lines["first_year"], lines["seq"])}
        df["project_id"] = df["line"].map(code)
        # unique names within (dept, year): suffix （二）… by line order
        df = df.sort_values(["year", "dept_code", "project_name", "line"]).reset_index(drop=True)
        first_line_name = {}
        for ln, nm in zip(df["line"], df["project_name"]):
            first_line_name.setdefault(ln, nm)
        numerals = "一二三四五六七八九十"
        names_by_line = {}
        taken: dict[tuple, int] = {}
        for ln, dept, nm in df.drop_duplicates("line")[["line", "dept_code", "project_name"]].itertuples(
                index=False):
            k = taken.get((dept, nm), 0)
            taken[(dept, nm)] = k + 1
            if k == 0:
                names_by_line[ln] = nm
            else:
                suffix = numerals[k] if k < 10 else str(k + 1)
                names_by_line[ln] = f"{nm}（{suffix}）"
        df["project_name"] = df["line"].map(names_by_line)
        assert not df.duplicated(["project_id", "year"]).any()
        return df.sort_values(["year", "project_id"]).reset_index(drop=True)

    # --- budgets --------------------------------------------------------------------------
    def _lognormal(self, n: int, sigma: float = 1.2) -> np.ndarray:
        return self.rng.lognormal(0.0, sigma, size=n)

    def budgets(self, p: pd.DataFrame) -> None:
        """Set 年初预算数 and 调整后预算数 (fen) so that every calibrated sum is exact."""
        rng = self.rng
        p["budget_amount_fen"] = np.int64(0)
        p["adjusted_amount_fen"] = pd.array([pd.NA] * len(p), dtype="Int64")
        wan = 10_000 * FEN
        # cost pilots: budget ≈ the year's total cost (set in cost_pilot_costs)
        self.pilot_costs = self.cost_pilot_costs(p)
        pil = p["group"] == "pilot"
        cost_total = self.pilot_costs.groupby(["project_id", "year"])["amount_fen"].sum()
        idx = list(zip(p.loc[pil, "project_id"], p.loc[pil, "year"]))
        raw = np.array([cost_total[i] for i in idx], dtype=float) * rng.uniform(1.0, 1.06, pil.sum())
        p.loc[pil, "budget_amount_fen"] = (np.rint(raw / (100 * FEN)) * 100 * FEN).astype(np.int64)

        def set_effective(mask: pd.Series, total: int, adj_share: float, sigma: float = 1.2,
                          step: int = 100 * FEN) -> None:
            """Effective budgets (adjusted or initial) of ``mask`` summing exactly to ``total``."""
            n = int(mask.sum())
            eff = _scale_to_total(self._lognormal(n, sigma), total, step)
            has_adj = rng.random(n) < adj_share
            factor = rng.uniform(0.8, 1.35, n)
            initial = np.where(has_adj, (np.rint(eff / factor / step) * step).astype(np.int64), eff)
            p.loc[mask, "budget_amount_fen"] = initial
            adj = pd.array(np.where(has_adj, eff, 0), dtype="Int64")
            adj[~has_adj] = pd.NA
            p.loc[mask, "adjusted_amount_fen"] = adj

        def free_budget(mask: pd.Series, low: float, high: float, sigma: float = 1.0) -> None:
            n = int(mask.sum())
            amt_wan = self._lognormal(n, sigma) * rng.uniform(low, high)   # 万元
            p.loc[mask, "budget_amount_fen"] = (np.rint(amt_wan * 100) * 100 * FEN).astype(np.int64) + wan

        # 2021 and 2022: evaluated projects carry the self-evaluation totals
        for year, (count, (lo, hi)) in SELFEVAL.items():
            y = p["year"] == year
            ev = y & p["evaluated"] & (p["group"] != "classified")
            assert ev.sum() == count, (year, ev.sum())
            total = int(rng.integers(lo // 100, hi // 100)) * 100 * FEN
            fixed = int(p.loc[ev & pil, "budget_amount_fen"].sum())
            set_effective(ev & ~pil, total - fixed, 0.25, sigma=1.3)
            free_budget(y & ~p["evaluated"] & (p["group"] != "classified"), 100, 600)
        # 2023
        y = p["year"] == YEAR
        g = p["group"]
        km = y & (g == "key_monitored")
        p.loc[km, "budget_amount_fen"] = [dict((n, b) for _, n, b in KEY_MONITORED)[nm] * FEN
                                          for nm in p.loc[km, "project_name"]]
        ke = y & (g == "key_eval")
        p.loc[ke, "budget_amount_fen"] = _scale_to_total(
            rng.lognormal(0, 0.7, ke.sum()), KEYEVAL_AMOUNT * FEN, step=wan)
        free = y & (g == "eligible_t")
        target_amount = int(rng.integers(TARGETS_AMOUNT_RANGE[0], TARGETS_AMOUNT_RANGE[1])) * FEN \
            + int(rng.integers(0, 100))
        fixed = int(p.loc[y & (g != "eligible_t") & (g != "other") & (g != "classified"),
                          "budget_amount_fen"].sum())
        p.loc[free, "budget_amount_fen"] = _scale_to_total(
            self._lognormal(int(free.sum()), 1.2), target_amount - fixed)
        # 追加/调剂 on about a third of the free eligible projects, net Σ exactly d_adj
        d_adj = int(rng.integers(15_000, 25_000)) * wan
        idx_free = np.flatnonzero(free.to_numpy())
        chosen = idx_free[rng.random(len(idx_free)) < 0.33]
        base = p["budget_amount_fen"].to_numpy()[chosen].astype(float)
        raw = base * rng.uniform(-0.15, 0.45, len(chosen))
        delta = _scale_to_total_signed(raw, d_adj, 100 * FEN)
        adjusted = base.astype(np.int64) + delta
        assert (adjusted > 0).all()
        col = p["adjusted_amount_fen"].copy()
        col.iloc[chosen] = adjusted
        p["adjusted_amount_fen"] = col
        # the 98 others carry the rest of the monitored budget
        eligible_effective = int(_effective(p.loc[y & (g != "other") & (g != "classified")]).sum())
        rest = MONITORING_BUDGET * FEN - eligible_effective
        assert rest > 100_000_000 * FEN, rest
        set_effective(y & (g == "other"), rest, 0.3, sigma=1.0)
        free_budget(y & (g == "classified"), 100, 500)
        for year in (2021, 2022):
            free_budget((p["year"] == year) & (g == "classified"), 100, 500)
        self.notes["targets_amount_fen"] = target_amount

    # --- execution rates (spent / budget) -------------------------------------------------
    def execution(self, p: pd.DataFrame) -> None:
        """Amount each project spends in its year (fen); 2023 calibrated to the seed exactly."""
        rng = self.rng
        eff = _effective(p).to_numpy(dtype=float)
        spent = np.zeros(len(p), dtype=np.int64)
        # full years: mostly well executed, some low
        full = (p["year"] < YEAR).to_numpy()
        r = np.where(rng.random(len(p)) < 0.8, rng.uniform(0.88, 1.0, len(p)),
                     rng.uniform(0.35, 0.88, len(p)))
        r = np.where(rng.random(len(p)) < 0.02, 0.0, r)
        spent[full] = np.floor(eff[full] * r[full]).astype(np.int64)
        # 2023 to July: bands by size, then calibrate the red projects' rates
        y = (p["year"] == YEAR).to_numpy()
        g = p["group"].to_numpy()
        mon = y & (g != "classified")
        idx = np.flatnonzero(mon)
        b = eff[idx]
        rank = pd.Series(b).rank(pct=True).to_numpy()
        u = rng.random(len(idx))
        p_red = np.where(rank > 0.75, 0.70, np.where(rank > 0.4, 0.40, 0.25))
        p_yellow = np.where(rank > 0.75, 0.20, np.where(rank > 0.4, 0.25, 0.20))
        band = np.where(u < p_red, "red", np.where(u < p_red + p_yellow, "yellow", "green"))
        band[g[idx] == "key_eval"] = "red"
        rate = np.select([band == "red", band == "yellow"],
                         [rng.uniform(0.03, 0.36, len(idx)), rng.uniform(0.392, 0.475, len(idx))],
                         rng.uniform(0.495, 0.92, len(idx)))
        near_full = (band == "green") & (rng.random(len(idx)) < 0.03)
        rate[near_full] = rng.uniform(0.96, 1.0, near_full.sum())
        zero = (band == "red") & (rng.random(len(idx)) < 0.035) & (g[idx] != "key_eval")
        rate[zero] = 0.0
        # key monitored: lagging sports venues, on-track talent programme, slow innovation fund
        for name, value in (("运动场地建设资金", 0.22), ("人才工程项目", 0.55), ("科技创新发展资金", 0.18)):
            k = np.flatnonzero(p["project_name"].to_numpy()[idx] == name)
            rate[k] = value
            band[k] = "red" if value < 0.38 else "green"
        target = MONITORING_SPENT * FEN
        cap = 0.375
        adjustable = (band == "red") & (rate > 0)
        for _ in range(200):
            fixed_sum = float((rate[~adjustable] * b[~adjustable]).sum())
            need = target - fixed_sum
            lo_cap = float((0.01 * b[adjustable]).sum())
            hi_cap = float((cap * b[adjustable]).sum())
            if need > hi_cap * 0.97:      # too little room: move the biggest green project to red
                cand = np.flatnonzero((band == "green") & (g[idx] == "eligible_t"))
                j = cand[np.argmax(b[cand])]
                band[j], rate[j], adjustable[j] = "red", 0.3, True
                continue
            if need < lo_cap * 1.5:       # too much: move the biggest red project to green
                cand = np.flatnonzero(adjustable & (g[idx] == "eligible_t"))
                j = cand[np.argmax(b[cand])]
                band[j], rate[j], adjustable[j] = "green", 0.6, False
                continue
            break
        else:  # pragma: no cover - the generator's shape makes this unreachable
            raise RuntimeError("could not calibrate 2023 spending")
        base_rate = rate[adjustable]
        lo, hi = 0.0, 50.0
        for _ in range(200):
            f = (lo + hi) / 2
            s = (np.clip(base_rate * f, 0.01, cap) * b[adjustable]).sum()
            if s < need:
                lo = f
            else:
                hi = f
        rate[adjustable] = np.clip(base_rate * (lo + hi) / 2, 0.01, cap)
        s_fen = np.floor(rate * b).astype(np.int64)
        adj_idx = np.flatnonzero(adjustable)
        big = adj_idx[np.argmax(b[adj_idx])]
        s_fen[big] += target - int(s_fen.sum())
        assert s_fen[big] <= b[big] * 0.38 and s_fen.sum() == target
        spent[idx] = s_fen
        cls = y & (g == "classified")
        spent[cls] = np.floor(eff[cls] * rng.uniform(0.2, 0.6, cls.sum())).astype(np.int64)
        p["spent_plan_fen"] = spent

    # --- payments -------------------------------------------------------------------------
    def payments(self, p: pd.DataFrame) -> pd.DataFrame:
        """Payment rows (several a month, back-loaded), summing exactly to each project's spending."""
        rng = self.rng
        has = p["spent_plan_fen"].to_numpy() > 0
        pid = p["project_id"].to_numpy()[has]
        year = p["year"].to_numpy()[has]
        total = p["spent_plan_fen"].to_numpy()[has]
        months = np.where(year == YEAR, AS_OF_MONTH, 12)
        pj = np.repeat(np.arange(len(pid)), months)
        month = np.concatenate([np.arange(1, m + 1) for m in months])
        mw = rng.gamma(MONTH_PROFILE[month - 1] * 3.0, 1.0)
        lam = np.clip(np.log10(np.maximum(total, 1) / FEN) - 4.5, 0.2, 2.5)
        n = 1 + rng.poisson(lam[pj])
        row_pm = np.repeat(np.arange(len(pj)), n)
        w = mw[row_pm] * rng.gamma(2.0, 1.0, len(row_pm)) / n[row_pm]
        proj = pj[row_pm]
        mon = month[row_pm]
        yr = year[proj]
        # a uniformly drawn working day of the month (no weekends, 元旦, 劳动节, 国庆节)
        first = (yr - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (mon - 1)
        hol = _holidays(range(int(yr.min()), int(yr.max()) + 1))
        first_day = first.astype("datetime64[D]")
        n_work = np.busday_count(first_day, (first + 1).astype("datetime64[D]"), holidays=hol)
        k = np.floor(rng.random(len(row_pm)) * n_work).astype(int)
        order = np.lexsort((k, mon, proj))
        proj, mon, k, w, yr = proj[order], mon[order], k[order], w[order], yr[order]
        first_day = first_day[order]
        amount = _split_groups(proj, w, total)
        dates = np.busday_offset(first_day, k, roll="forward", holidays=hol)
        # the data are as of the last day of the as-of month: the latest 2023 payment is on it
        cur = np.flatnonzero(yr == YEAR)
        if len(cur):
            dates[cur[np.argmax(dates[cur])]] = np.datetime64(
                dt.date(YEAR, AS_OF_MONTH, calendar.monthrange(YEAR, AS_OF_MONTH)[1]))
        df = pd.DataFrame({
            "project_id": pid[proj], "year": yr,
            "pay_date": pd.Series(dates).dt.date,
            "amount_fen": amount,
        })
        df = df[df["amount_fen"] > 0]
        return df.sort_values(["year", "pay_date", "project_id"], kind="stable").reset_index(drop=True)

    # --- targets --------------------------------------------------------------------------
    def _project_indicators(self, sector: str, project_type: str | None, quantity: float | None,
                            budget_wan: float) -> list[dict]:
        """Indicators of one project: 产出 50, 效益 30, 满意度 10 points (some without 满意度)."""
        rng = self.rng
        out = []
        if project_type is not None:
            ct = COST_TYPES[project_type]
            q_ind = [(ct.output, ct.unit, _nice(quantity * 0.95))]
        else:
            pool = QUANTITY_INDICATORS[sector]
            k = 1 if rng.random() < 0.6 or len(pool) < 2 else 2
            picks = rng.choice(len(pool), size=k, replace=False)
            scale = np.clip(np.log10(max(budget_wan, 1)) / 3.5, 0.05, 1.0)
            q_ind = []
            for i in picks:
                name, unit, lo, hi = pool[i]
                q_ind.append((name, unit, max(_nice(lo + (hi - lo) * scale * rng.uniform(0.5, 1.0)), 1)))
        for name, unit, value in q_ind:
            out.append(dict(level1="产出指标", level2="数量指标", indicator=name, direction="≥",
                            target_value=str(value), unit=unit))
        qn, qd, qv = QUALITY_INDICATORS[rng.integers(len(QUALITY_INDICATORS))]
        out.append(dict(level1="产出指标", level2="质量指标", indicator=qn, direction=qd,
                        target_value=str(qv), unit="%"))
        tn, td, tv = TIMELINESS_INDICATORS[rng.integers(len(TIMELINESS_INDICATORS))]
        out.append(dict(level1="产出指标", level2="时效指标", indicator=tn, direction=td,
                        target_value=str(tv), unit="%"))
        if rng.random() < 0.25:
            out.append(dict(level1="成本指标", level2="经济成本指标", indicator="预算成本控制率",
                            direction="≤", target_value="100", unit="%"))
        n_out = len(out)
        w_out = _weights(50, n_out, rng)
        for row, wt in zip(out, w_out):
            row["weight"] = wt
        k = 1 if rng.random() < 0.5 else 2
        picks = rng.choice(len(EFFECT_INDICATORS), size=k, replace=False)
        for row_i, wt in zip(picks, _weights(30, k, rng)):
            name, level2, d, v, unit = EFFECT_INDICATORS[row_i]
            out.append(dict(level1="效益指标", level2=level2, indicator=name, direction=d,
                            target_value=v, unit=unit, weight=wt))
        if rng.random() < 0.85:
            name, v = SATISFACTION_INDICATORS[rng.integers(len(SATISFACTION_INDICATORS))]
            out.append(dict(level1="满意度指标", level2="服务对象满意度指标", indicator=name,
                            direction="≥", target_value=str(v), unit="%", weight=10))
        return out

    def targets(self, p: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Project-level targets (eligible projects with targets), department-level targets."""
        rng = self.rng
        rows = []
        with_t = p[p["group"].isin(["eligible_t", "pilot", "key_monitored", "key_eval"])]
        quantities = self.pilot_quantities
        eff = _effective(with_t).to_numpy(float) / (10_000 * FEN)
        for (pid, year, dept, ptype), bw in zip(
                with_t[["project_id", "year", "dept_code", "project_type"]].itertuples(index=False), eff):
            ptype = ptype if isinstance(ptype, str) else None
            q = quantities.get((pid, year)) if ptype else None
            for ind in self._project_indicators(self.sector_of[dept], ptype, q, bw):
                rows.append(dict(project_id=pid, dept_code=dept, year=year, **ind))
        proj_targets = pd.DataFrame(rows)
        # department-level targets: every level-1 department in 2023, most in 2022, many in 2021
        level1 = self.depts[self.depts["parent_code"].isna()]["dept_code"].to_numpy()
        drows = []
        for year, share in ((2021, 0.8), (2022, 0.94), (2023, 1.0)):
            chosen = level1 if share >= 1 else level1[rng.random(len(level1)) < share]
            for dept in chosen:
                for level1_, level2, name, d, v, unit, wt in DEPT_INDICATORS:
                    if v is None:
                        v = str(int(rng.integers(8, 40)))
                    if level1_ == "成本指标" and rng.random() < 0.5:
                        continue
                    drows.append(dict(project_id=None, dept_code=dept, year=year, level1=level1_,
                                      level2=level2, indicator=name, direction=d, target_value=v,
                                      unit=unit, weight=float(wt) if wt else None))
        targets = pd.concat([proj_targets, pd.DataFrame(drows)], ignore_index=True)
        targets["weight"] = targets["weight"].astype("Float64")
        cols = [c.name for c in TABLES["targets"].columns]
        return targets[cols], proj_targets

    # --- self-evaluations -----------------------------------------------------------------
    def _actual(self, direction: str, target: str, unit: str) -> str | None:
        """A year-end actual value for an indicator (some missing, some over-achieved)."""
        rng = self.rng
        u = rng.random()
        if u < 0.03:
            return None
        if direction == "定性":
            return QUALITATIVE_GRADES[rng.choice(4, p=[0.55, 0.30, 0.12, 0.03])]
        t = float(target)
        if direction == "=":
            return _num_text(t if rng.random() < 0.85 else t - rng.integers(1, 8))
        if direction == "≤":
            return _num_text(round(t * (rng.uniform(0.6, 1.0) if rng.random() < 0.8
                                        else rng.uniform(1.0, 1.3)), 1))
        if unit == "%":
            hi = min(100.0, t * 1.08)
            v = rng.uniform(t, hi) if rng.random() < 0.78 else rng.uniform(t * 0.85, t)
            return _num_text(round(v, 1))
        if u < 0.09:
            return _num_text(round(t * rng.uniform(1.25, 1.8)))
        if u < 0.72:
            return _num_text(round(t * rng.uniform(1.0, 1.15)))
        return _num_text(round(t * rng.uniform(0.55, 1.0)))

    def self_evaluations(self, p: pd.DataFrame, proj_targets: pd.DataFrame
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
        rng = self.rng
        ev = p[(p["year"] < YEAR) & p["evaluated"] & (p["group"] != "classified")].copy()
        t = proj_targets[proj_targets["year"] < YEAR].copy()
        t = t[t.set_index(["project_id", "year"]).index.isin(ev.set_index(["project_id", "year"]).index)]
        t["actual_value"] = [self._actual(d, v, u) for d, v, u in
                             zip(t["direction"], t["target_value"], t["unit"])]
        self.selfeval_actuals = t
        # satisfaction: the 满意度 indicator's actual where there is one, else a survey figure or empty
        sat_t = t[t["level1"] == "满意度指标"]
        sat_ind = dict(zip(zip(sat_t["project_id"], sat_t["year"]), sat_t["actual_value"]))
        has_targets = set(zip(t["project_id"], t["year"]))
        justified = _justified_scores(t, ev)
        sat, score = [], []
        for pid, year, j in zip(ev["project_id"], ev["year"], justified):
            key = (pid, year)
            if key in sat_ind:
                v = sat_ind[key]
                sat.append(float(v) if v is not None else None)
            elif key in has_targets:
                sat.append(None)
            else:
                sat.append(None if rng.random() < 0.2 else round(float(rng.uniform(78, 99)), 1))
            score.append(j)
        ev["satisfaction"] = sat
        justified = np.array(score, dtype=float)
        no_ind = np.array([(pid, y) not in has_targets for pid, y in zip(ev["project_id"], ev["year"])])
        justified[no_ind] = np.clip(justified[no_ind] + rng.uniform(0, 8, no_ind.sum()), 0, 100)
        reported = justified + rng.normal(0, 1.2, len(ev))
        # about 5 % of the projects with indicators report more than 5 points above what they justify
        inflate = (rng.random(len(ev)) < 0.1) & (justified < 93) & ~no_ind
        inflate |= (rng.random(len(ev)) < 0.03) & (justified < 90) & no_ind
        room = np.maximum(100 - justified, 6.0)
        reported[inflate] = justified[inflate] + rng.uniform(5.8, np.minimum(room[inflate], 15.0))
        ev["reported_score"] = np.round(np.clip(reported, 0, 100), 1)
        ev["spent_amount_fen"] = ev["spent_fen"]
        self.notes["selfeval_inflated"] = int(inflate.sum())
        se = ev[["project_id", "year", "spent_amount_fen", "satisfaction", "reported_score"]]
        se = se.astype({"satisfaction": "Float64"}).reset_index(drop=True)
        ind = t[["project_id", "year", "indicator", "actual_value"]].reset_index(drop=True)
        return se, ind

    # --- monitoring -----------------------------------------------------------------------
    def monitoring(self, p: pd.DataFrame, proj_targets: pd.DataFrame, payments: pd.DataFrame
                   ) -> pd.DataFrame:
        """Target progress per project indicator: 2023 July, 2022 July and 2022 December."""
        rng = self.rng
        frames = []
        eff = _effective(p)
        budget = dict(zip(zip(p["project_id"], p["year"]), eff.to_numpy(float)))
        key_names = {n for _, n, _ in KEY_MONITORED}
        key_ids = set(p.loc[(p["year"] == YEAR) & p["project_name"].isin(key_names)
                            & (p["group"] == "key_monitored"), "project_id"])
        a = self.selfeval_actuals
        actuals = dict(zip(zip(a["project_id"], a["year"], a["indicator"]), a["actual_value"]))
        for year, month in ((2022, 7), (2022, 12), (YEAR, AS_OF_MONTH)):
            t = proj_targets[proj_targets["year"] == year].copy()
            pay = payments[(payments["year"] == year)
                           & (pd.to_datetime(payments["pay_date"]).dt.month <= month)]
            spent = pay.groupby("project_id")["amount_fen"].sum()
            pids = t["project_id"].unique()
            rate = np.array([spent.get(pid, 0) / budget[(pid, year)] if budget[(pid, year)] else 0
                             for pid in pids])
            # target progress follows money, except where the two deliberately disagree
            prog = np.clip(rate + rng.normal(0, 0.07, len(pids)), 0, 1)
            u = rng.random(len(pids))
            money_ahead = (u < 0.06) & (rate > 0.45)
            targets_ahead = (u > 0.94) & (rate < 0.35)
            prog[money_ahead] = rate[money_ahead] * rng.uniform(0.2, 0.45, money_ahead.sum())
            prog[targets_ahead] = np.clip(rate[targets_ahead] + rng.uniform(0.35, 0.6,
                                                                          targets_ahead.sum()), 0, 1)
            if month == 12:
                prog = np.ones(len(pids))
            progress = dict(zip(pids, prog))
            tp = month / 12
            rows = []
            for pid, ind, d, v, unit in t[["project_id", "indicator", "direction", "target_value",
                                           "unit"]].itertuples(index=False):
                g = progress[pid]
                if month == 12:
                    val = actuals.get((pid, year, ind))
                elif d == "定性":
                    val = "优" if g >= tp else ("良" if g >= tp - 0.2 else "中")
                elif d == "≥" and unit != "%":
                    val = _num_text(round(float(v) * g))
                elif d == "≤":
                    val = _num_text(round(float(v) * rng.uniform(0.85, 1.0), 1))
                elif d == "=":
                    val = _num_text(float(v) if g >= tp - 0.1 else round(float(v) * g / tp))
                else:
                    val = _num_text(round(min(100.0, float(v) * rng.uniform(0.93, 1.06)), 1))
                lag = g < tp - 0.15
                if month == 12:
                    lag = False
                reason = DEVIATION_REASONS[rng.choice(5, p=[0.35, 0.15, 0.15, 0.2, 0.15])] if lag \
                    else (None if rng.random() > 0.02 else "其他")
                if lag:
                    likelihood = ("有可能", "确定能", "完全不可能")[rng.choice(3, p=[0.65, 0.28, 0.07])]
                else:
                    likelihood = "确定能" if rng.random() > 0.03 else "有可能"
                if rng.random() < 0.01:
                    val = None
                rows.append(dict(project_id=pid, year=year, as_of_month=month, indicator=ind,
                                 actual_value=val, deviation_reason=reason, likelihood=likelihood,
                                 key_monitored=(year == YEAR and pid in key_ids)))
            frames.append(pd.DataFrame(rows))
        return pd.concat(frames, ignore_index=True)

    # --- key evaluations ------------------------------------------------------------------
    def key_evaluations(self, p: pd.DataFrame) -> pd.DataFrame:
        """16 key evaluations of 2023 with next-year request and approval (exact seed totals)."""
        rng = self.rng
        ke = p[(p["year"] == YEAR) & (p["group"] == "key_eval")].set_index("project_name")
        names = [n for _, n, _ in KEY_EVALUATIONS]
        domains = {n: d for _, n, d in KEY_EVALUATIONS}
        grades = list(KEYEVAL_GRADES)
        order = rng.permutation(len(names))
        grade_of = {names[i]: grades[k] for k, i in enumerate(order)}
        bands = {"优": (90, 97), "良": (80, 89.5), "中": (62, 79.5), "差": (45, 59)}
        wan = 10_000 * FEN
        budget = np.array([int(_effective(ke.loc[[n]]).iloc[0]) for n in names], dtype=float)
        g = np.array([grade_of[n] for n in names])
        mid = g == "中"
        good = np.flatnonzero(g == "良")
        poor = np.flatnonzero(g == "差")
        # requests: 差 projects ask for much more, so that their cuts carry most of the total
        share = np.array([{"优": 0.5, "良": 0.6, "中": 0.7, "差": 3.2}[x] for x in g])
        for _ in range(100):
            raw = share * (budget / budget.mean()) ** 0.3 * rng.uniform(0.8, 1.2, 16)
            request = _scale_to_total(raw, KEYEVAL_REQUEST * FEN, step=wan)
            cut = np.zeros(16, dtype=np.int64)
            cut[mid] = (np.rint(request[mid] * rng.uniform(0.08, 0.12, mid.sum()) / wan) * wan
                        ).astype(np.int64)
            # departures from the suggested cut: one 良 cut by 5 %, one 中 not cut at all
            cut[good[0]] = int(round(request[good[0]] * 0.05 / wan)) * wan
            cut[np.flatnonzero(mid)[-1]] = 0
            rest = KEYEVAL_CUT * FEN - int(cut.sum())
            cut[poor] = _scale_to_total(request[poor].astype(float), rest, step=wan)
            rates = cut[poor] / request[poor]
            if ((rates >= 0.3) & (rates <= 0.8)).all():
                break
        else:  # pragma: no cover
            raise RuntimeError("could not calibrate key evaluation cuts")
        rows = []
        for i, n in enumerate(names):
            lo, hi = bands[g[i]]
            for _ in range(100):
                total = rng.uniform(lo, hi)
                f = np.clip(total / 100 + rng.normal(0, 0.05, 4), 0.2, 1.0)
                s = np.round(f * np.array([20, 20, 30, 30]), 1)
                if lo <= s.sum() < hi + 0.5 and (s.sum() >= 90) == (g[i] == "优") and \
                        (s.sum() >= 80) == (g[i] in "优良") and (s.sum() >= 60) == (g[i] != "差"):
                    break
            else:  # pragma: no cover
                raise RuntimeError("score draw failed")
            findings = KEYEVAL_FINDINGS[g[i]][rng.integers(len(KEYEVAL_FINDINGS[g[i]]))]
            rows.append(dict(project_id=ke.loc[n, "project_id"], year=YEAR, domain=domains[n],
                             score_decision=s[0], score_process=s[1], score_output=s[2],
                             score_effect=s[3], next_request_fen=int(request[i]),
                             next_approved_fen=int(request[i] - cut[i]), findings=findings))
        return pd.DataFrame(rows)

    # --- cost pilots: costs and outputs ---------------------------------------------------
    def cost_pilot_costs(self, p: pd.DataFrame) -> pd.DataFrame:
        """Cost elements of every pilot project-year, calibrated so that the savings (SPEC) sum to
        727 万元; also sets ``self.pilot_quantities`` and ``self.pilot_outputs``."""
        rng = self.rng
        pil = p[p["group"] == "pilot"].sort_values(["project_type", "project_id", "year"])
        rows = []
        total_fen = {}
        quantities = {}
        quality = {}
        for ptype, grp in pil.groupby("project_type", sort=True):
            ct = COST_TYPES[ptype]
            ids = grp["project_id"].unique()
            level = {pid: 1 + rng.normal(0, ct.spread) for pid in ids}
            base_q = {pid: rng.uniform(*ct.quantity) for pid in ids}
            recs = []
            for pid, year in zip(grp["project_id"], grp["year"]):
                q = base_q[pid] * rng.uniform(0.95, 1.06) * (1 + 0.02 * (year - 2021))
                q = max(int(round(q / ct.quantity_step)) * ct.quantity_step, ct.quantity_step)
                uc = ct.unit_cost * level[pid] * (1 + rng.normal(0, ct.spread / 3))
                recs.append([pid, year, q, uc, False])
            df = pd.DataFrame(recs, columns=["project_id", "year", "q", "uc", "outlier"])
            # two clear outliers: an over-spending reception unit in 2023, a mis-keyed property area
            if ptype == "公务接待":
                k = df.index[df["year"] == YEAR][int(rng.integers((df["year"] == YEAR).sum()))]
                df.loc[k, ["uc", "outlier"]] = [df.loc[k, "uc"] * 2.2, True]
            if ptype == "物业管理":
                k = df.index[df["year"] == 2021][int(rng.integers((df["year"] == 2021).sum()))]
                df.loc[k, ["uc", "outlier"]] = [df.loc[k, "uc"] * 0.4, True]
            df["cost"] = np.rint(df["uc"] * df["q"] * FEN).astype(np.int64)
            target = COST_SAVINGS_TOTAL * ct.savings_share
            df = _calibrate_savings(df, target)
            for pid, year, q, c in df[["project_id", "year", "q", "cost"]].itertuples(index=False):
                total_fen[(pid, year)] = int(c)
                quantities[(pid, year)] = q
                quality[(pid, year)] = round(float(np.clip(rng.normal(84, 7), 60, 100)), 1)
            # cost elements
            shares = np.array(ct.shares)
            for pid, year, c in df[["project_id", "year", "cost"]].itertuples(index=False):
                w = rng.dirichlet(shares[shares > 0] * 60)
                elems = [e for e, s in zip(COST_ELEMENTS, shares) if s > 0]
                amounts = _split_groups(np.zeros(len(w), dtype=int), w, np.array([c]))
                for e, a in zip(elems, amounts):
                    rows.append(dict(project_id=pid, year=year, cost_element=e, amount_fen=int(a)))
        self.pilot_quantities = quantities
        self.pilot_quality = quality
        self.pilot_type = dict(zip(zip(pil["project_id"], pil["year"]), pil["project_type"]))
        return pd.DataFrame(rows)

    def cost_tables(self, p: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        costs = self.pilot_costs.copy()
        rows = []
        for (pid, year), q in self.pilot_quantities.items():
            ct = COST_TYPES[self.pilot_type[(pid, year)]]
            rows.append(dict(project_id=pid, year=year, output_name=ct.output, unit=ct.unit,
                             quantity=int(q), quality_score=self.pilot_quality[(pid, year)]))
        outputs = pd.DataFrame(rows).sort_values(["year", "project_id"]).reset_index(drop=True)
        return costs.sort_values(["year", "project_id"], kind="stable").reset_index(drop=True), outputs

    # --- street fiscal --------------------------------------------------------------------
    def street_fiscal(self) -> pd.DataFrame:
        """Fiscal indicators of every street office, 2020–2023 (元, integers)."""
        rng = self.rng
        streets = self.depts[self.depts["is_street"]]
        # discipline: how closely outturns follow budgets (東风 in the middle)
        bias = rng.permutation(np.array([0.0, 0.01, -0.03, 0.04, -0.06, 0.07, -0.09, 0.02, -0.02,
                                         0.09, -0.12, 0.05]))
        noise = rng.permutation(np.array([0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.12, 0.14,
                                          0.17, 0.2, 0.25]))
        rows = []
        for (code, name), b, nz in zip(streets[["dept_code", "dept_name"]].itertuples(index=False),
                                       bias, noise):
            rev_budget = rng.uniform(2e8, 7e8)
            tax_share = rng.uniform(0.6, 0.88)
            debt = rng.uniform(0.1, 1.2)
            admin = rng.uniform(0.04, 0.09)
            if name == "东风街道办事处":   # the seed's evaluated street: a middle case
                b, nz, tax_share, debt, admin = -0.075, 0.09, 0.74, 0.65, 0.065
            head_shares = rng.dirichlet(np.array([14, 6, 8, 4, 14, 6, 4, 30, 8, 6], float) * 3)
            for year in (2020, 2021, 2022, 2023):
                rev_budget *= rng.uniform(0.96, 1.12)
                revenue = rev_budget * np.clip(1 + b * 0.8 + rng.normal(0, 0.03), 0.9, 1.12)
                exp_budget = int(rev_budget * rng.uniform(0.75, 0.95))
                heads_budget = _split_groups(np.zeros(10, dtype=int), head_shares, np.array([exp_budget]))
                ratio = np.clip(1 + b + rng.normal(0, 0.025), 0.85, 1.12)
                # composition varies by head; the aggregate outturn is exactly ratio × budget
                mix = heads_budget * np.clip(1 + rng.normal(0, nz, 10), 0.4, 1.8)
                head_out = _split_groups(np.zeros(10, dtype=int), mix,
                                         np.array([int(round(exp_budget * ratio))]))
                expenditure = int(head_out.sum())
                need = expenditure * rng.uniform(0.3, 0.45)
                vals = {
                    "一般公共预算收入预算数": int(rev_budget),
                    "一般公共预算收入": int(revenue),
                    "税收收入": int(revenue * np.clip(tax_share + rng.normal(0, 0.02), 0.61, 0.89)),
                    "一般公共预算支出预算数": exp_budget,
                    "一般公共预算支出": expenditure,
                    "三保支出需求": int(need),
                    "三保支出": int(need * rng.uniform(0.92, 1.0)),
                    "行政成本": int(expenditure * admin * rng.uniform(0.9, 1.1)),
                    "债务余额": int(revenue * debt * rng.uniform(0.9, 1.1)),
                    "结转结余": int(expenditure * rng.uniform(0.02, 0.12)),
                }
                for k, v in vals.items():
                    rows.append(dict(dept_code=code, year=year, indicator=k, value=float(v)))
                for h, vb, vo in zip(EXPENDITURE_HEADS, heads_budget, head_out):
                    rows.append(dict(dept_code=code, year=year, indicator=HEAD_BUDGET_PREFIX + h,
                                     value=float(vb)))
                    rows.append(dict(dept_code=code, year=year, indicator=HEAD_OUTTURN_PREFIX + h,
                                     value=float(vo)))
        return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# helpers used by the generator
# ---------------------------------------------------------------------------------------------
def _effective(p: pd.DataFrame) -> pd.Series:
    """Budget in fen: 调整后预算数 where given, else 年初预算数."""
    adj = p["adjusted_amount_fen"]
    return adj.where(adj.notna(), p["budget_amount_fen"]).astype("int64")


def _scale_to_total_signed(raw: np.ndarray, total: int, step: int) -> np.ndarray:
    """Signed integer amounts proportional to ``raw`` (rounded to ``step``) summing to ``total``."""
    s = raw.sum()
    x = raw / s * total if s != 0 else np.full(len(raw), total / len(raw))
    out = (np.rint(x / step) * step).astype(np.int64)
    out[np.argmax(np.abs(out))] += total - out.sum()
    return out


def _holidays(years) -> np.ndarray:
    """Fixed-date public holidays (元旦, 劳动节, 国庆节) on which the treasury makes no payment."""
    days = []
    for y in years:
        days += [f"{y}-01-01", f"{y}-05-01", f"{y}-05-02", f"{y}-05-03"]
        days += [f"{y}-10-0{d}" for d in range(1, 8)]
    return np.array(days, dtype="datetime64[D]")


def _weights(points: int, n: int, rng: np.random.Generator) -> list[float]:
    """``n`` whole-number weights summing to ``points`` (roughly even, a little varied)."""
    if n == 1:
        return [float(points)]
    raw = rng.uniform(0.8, 1.2, n)
    w = np.floor(raw / raw.sum() * points).astype(int)
    w[0] += points - w.sum()
    return [float(x) for x in w]


def _indicator_fraction(direction: str, target: str, actual: str | None) -> float:
    """Share of an indicator's points its actual earns (mirrors SPEC's self-evaluation rule)."""
    if actual is None:
        return 0.0
    if direction == "定性":
        return {"优": 1.0, "良": 0.8, "中": 0.6, "差": 0.0}.get(actual, 0.0)
    t, a = float(target), float(actual)
    if direction == "≥":
        return 1.0 if a >= t else (a / t if t else 1.0)
    if direction == "≤":
        return 1.0 if a <= t else (t / a if a else 1.0)
    return 1.0 if a == t else (min(a, t) / max(a, t) if max(a, t) else 1.0)


def _justified_scores(ind: pd.DataFrame, ev: pd.DataFrame) -> np.ndarray:
    """The score each evaluated project's data justifies: execution 10 + indicators 90 (产出 50,
    效益 30, 满意度 10; a missing level's points go to 产出/效益 pro rata). Projects without
    indicators get execution points plus a plausible 75–90 % of the 90 indicator points."""
    budget = _effective(ev).to_numpy(float)
    execution = np.where(budget > 0, np.minimum(ev["spent_fen"].to_numpy(float) / np.where(
        budget > 0, budget, 1), 1.0), 0.0) * 10
    ind = ind.copy()
    ind["lvl"] = ind["level1"].replace({"成本指标": "产出指标"})
    ind["frac"] = [_indicator_fraction(d, t, a) for d, t, a in
                   zip(ind["direction"], ind["target_value"], ind["actual_value"])]
    ind["w"] = ind["weight"].astype(float)
    ind["earned"] = ind["frac"] * ind["w"]
    lv = ind.groupby(["project_id", "year", "lvl"])[["earned", "w"]].sum()
    lv["share"] = lv["earned"] / lv["w"]
    share = lv["share"].unstack("lvl")
    shares = {key: {lvl: v for lvl, v in zip(share.columns, vals)}
              for key, vals in zip(share.index, share.to_numpy())}
    points = {"产出指标": 50.0, "效益指标": 30.0, "满意度指标": 10.0}
    out = []
    rng_default = np.linspace(0.78, 0.92, len(ev)) if len(ev) else []
    for k, (pid, year) in enumerate(zip(ev["project_id"], ev["year"])):
        if (pid, year) not in shares:
            out.append(execution[k] + 90 * rng_default[k])
            continue
        row = shares[(pid, year)]
        present = {lvl: pts for lvl, pts in points.items() if lvl in row and pd.notna(row[lvl])}
        missing = sum(pts for lvl, pts in points.items() if lvl not in present)
        base = sum(present[lvl] for lvl in ("产出指标", "效益指标") if lvl in present)
        total = 0.0
        for lvl, pts in present.items():
            extra = missing * pts / base if lvl in ("产出指标", "效益指标") and base else 0.0
            total += row[lvl] * (pts + extra)
        out.append(execution[k] + total)
    return np.array(out)


def _calibrate_savings(df: pd.DataFrame, target: float) -> pd.DataFrame:
    """Adjust 2023 costs of one pilot type so that its savings (SPEC) equal ``target`` 元.

    standard = median of all unit costs (2021–2023, linear quantile); savings = Σ over 2023 of
    max(0, unit cost − standard) × quantity. If the natural savings exceed the target, the 2023
    above-standard costs are first shrunk toward the standard; then one above-standard 2023 project
    (not an outlier) absorbs the exact difference. It stays above the median's order statistics,
    so the standard does not move.
    """
    df = df.copy()
    y = (df["year"] == YEAR).to_numpy()
    for _ in range(100):
        uc = df["cost"].to_numpy(float) / FEN / df["q"].to_numpy(float)
        std = float(np.quantile(uc, 0.5))
        above = y & (uc > std)
        savings = float(((uc - std) * df["q"].to_numpy(float))[above].sum())
        if savings > target * 0.9:
            shrink = above & ~df["outlier"].to_numpy()
            new_uc = std + (uc - std) * 0.7
            df.loc[shrink, "cost"] = np.rint(new_uc[shrink] * df["q"].to_numpy(float)[shrink] * FEN
                                             ).astype(np.int64)
            continue
        n = len(uc)
        upper = np.sort(uc)[int(np.ceil(0.5 * (n - 1)))]
        cand = np.flatnonzero(y & ~df["outlier"].to_numpy())
        k = cand[np.argmax(uc[cand])]
        if not uc[k] > upper:
            df.loc[df.index[k], "cost"] = int(round(np.max(uc) * 1.03 * df["q"].iloc[k] * FEN))
            continue
        delta = int(round((target - savings) * FEN))
        df.loc[df.index[k], "cost"] = int(df["cost"].iloc[k]) + delta
        uc = df["cost"].to_numpy(float) / FEN / df["q"].to_numpy(float)
        assert abs(float(np.quantile(uc, 0.5)) - std) < 1e-9
        return df
    raise RuntimeError("could not calibrate cost savings")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# Writing the export folder
# ---------------------------------------------------------------------------------------------
def _export_frame(df: pd.DataFrame, table: str, *, text_money: bool, bool_words: bool = True,
                  wan_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Canonical frame → the user-facing frame (Chinese headers, 是/否, money in 元 or 万元)."""
    out = pd.DataFrame(index=df.index)
    for c in TABLES[table].columns:
        if c.kind == "money":
            fen = df[c.name + "_fen"]
            header = c.header
            if c.name in wan_columns:
                header = f"{c.header}（万元）"
                vals = fen.astype("Float64") / (10_000 * FEN)
                out[header] = vals.astype(object).where(fen.notna(), None)
            elif text_money:
                mask = fen.notna()
                txt = pd.Series([None] * len(fen), index=fen.index, dtype=object)
                if mask.any():
                    txt[mask] = _fen_text(fen[mask].astype("int64")).to_numpy()
                out[header] = txt
            else:
                vals = fen.astype("Float64") / FEN
                out[header] = vals.astype(object).where(fen.notna(), None)
        elif c.kind == "bool":
            if c.name in df:
                out[c.header] = df[c.name].map({True: "是", False: "否"}) if bool_words else df[c.name]
        elif c.name in df:
            out[c.header] = df[c.name]
    return out


def _write_csv(df: pd.DataFrame, path: Path, encoding: str) -> None:
    text = df.to_csv(index=False, lineterminator="\r\n" if encoding == "gbk" else "\n")
    path.write_bytes(text.encode(encoding))


def _write_xlsx(sheets: dict[str, pd.DataFrame], path: Path, total_row: dict[str, dict] | None = None
                ) -> None:
    """Write sheets with xlsxwriter; fixed document dates so the file is reproducible."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    wb.set_properties({"title": path.stem, "author": "预算管理一体化系统", "created": FIXED_TIMESTAMP})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for sheet, df in sheets.items():
        ws = wb.add_worksheet(sheet)
        for j, col in enumerate(df.columns):
            ws.write_string(0, j, str(col), head)
            values = df[col].tolist()
            width = max(8, min(40, len(str(col)) * 2 + 2))
            ws.set_column(j, j, width)
            for i, v in enumerate(values, start=1):
                if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
                    continue
                if isinstance(v, (dt.date, dt.datetime)):
                    ws.write_datetime(i, j, dt.datetime(v.year, v.month, v.day), date_fmt)
                elif isinstance(v, (bool, np.bool_)):
                    ws.write_string(i, j, "是" if v else "否")
                elif isinstance(v, (int, np.integer)):
                    ws.write_number(i, j, int(v))
                elif isinstance(v, (float, np.floating)):
                    ws.write_number(i, j, float(v))
                else:
                    ws.write_string(i, j, str(v))
        if total_row and sheet in total_row:
            i = len(df) + 1
            for j, col in enumerate(df.columns):
                if col in total_row[sheet]:
                    v = total_row[sheet][col]
                    if isinstance(v, str):
                        ws.write_string(i, j, v, head)
                    else:
                        ws.write_number(i, j, v, head)
        ws.freeze_panes(1, 0)
    wb.close()


def write_export(data: DemoData, out_dir: Path) -> list[Path]:
    """Write the tables as a budget-system export folder; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []

    depts = _export_frame(data.departments, "departments", text_money=False)
    p = out_dir / "部门.xlsx"
    _write_xlsx({"部门": depts}, p)
    files.append(p)

    proj = _export_frame(data.projects, "projects", text_money=False, wan_columns=("budget_amount",))
    wan_header = "年初预算数（万元）"
    adj_header = TABLES["projects"].column("adjusted_amount").header
    total = {
        proj.columns[0]: "合计",
        wan_header: int(data.projects["budget_amount_fen"].sum()) / (10_000 * FEN),
        adj_header: int(data.projects["adjusted_amount_fen"].dropna().sum()) / FEN,
    }
    p = out_dir / "项目.xlsx"
    _write_xlsx({"项目": proj}, p, total_row={"项目": total})
    files.append(p)

    targets = _export_frame(data.targets, "targets", text_money=True)
    p = out_dir / "绩效目标.csv"
    _write_csv(targets, p, "gbk")
    files.append(p)

    # payments: the archived first year as a workbook with real date cells, the rest as csv text
    pay = data.payments
    first = pay["year"] == YEARS[0]
    p = out_dir / f"{YEARS[0]}年支出明细.xlsx"
    _write_xlsx({"支出明细": _export_frame(pay[first], "payments", text_money=False)}, p)
    files.append(p)
    later = pay[~first].copy()
    later["pay_date"] = pd.to_datetime(later["pay_date"]).dt.strftime("%Y-%m-%d")
    p = out_dir / "支出明细.csv"
    _write_csv(_export_frame(later, "payments", text_money=True), p, "utf-8")
    files.append(p)

    p = out_dir / "绩效监控.csv"
    _write_csv(_export_frame(data.monitoring, "monitoring", text_money=True), p, "utf-8-sig")
    files.append(p)

    se = _export_frame(data.self_evaluations, "self_evaluations", text_money=False)
    sei = _export_frame(data.self_eval_indicators, "self_eval_indicators", text_money=False)
    p = out_dir / "绩效自评.xlsx"
    _write_xlsx({"绩效自评": se, "自评指标": sei}, p)
    files.append(p)

    p = out_dir / "重点评价.xlsx"
    _write_xlsx({"重点评价": _export_frame(data.key_evaluations, "key_evaluations", text_money=False)}, p)
    files.append(p)

    p = out_dir / "成本构成.csv"
    _write_csv(_export_frame(data.costs, "costs", text_money=True), p, "utf-8-sig")
    files.append(p)

    p = out_dir / "产出数量.csv"
    _write_csv(_export_frame(data.outputs, "outputs", text_money=True), p, "utf-8")
    files.append(p)

    p = out_dir / "街道财政.xlsx"
    _write_xlsx({"街道财政": _export_frame(data.street_fiscal, "street_fiscal", text_money=False)}, p)
    files.append(p)
    return files


def build_demo(seed: int = 0) -> DemoData:
    """Generate the district-scale demo tables (canonical columns, money in fen)."""
    return _Generator(seed).build()


def write_demo(out_dir: str | Path, seed: int = 0, scale: str = "district", *,
               districts: int | None = None, file_rows: int | None = None) -> Path:
    """Write a synthetic export folder calibrated to the seed report.

    Parameters
    ----------
    out_dir : the folder to write (created if needed; existing demo files are overwritten).
    seed : random seed; any seed reproduces the seed report's figures, names and details vary.
    scale : ``district`` (about 3,100 projects over 2021–2023) or ``province`` (the same shape for
        ``districts`` districts, 150 by default: about 470,000 project-years and 15 million payments;
        see :func:`write_province`).
    districts, file_rows : province only — the number of districts and the most payment rows per
        ``支出明细-NNN.csv`` file (tests shrink them).
    """
    if scale not in ("district", "province"):
        raise ParameterError(f"未知的规模「{scale}」；应为 district 或 province。")
    out = Path(out_dir)
    if scale == "province":
        write_province(out, int(seed), districts=PROVINCE_DISTRICTS if districts is None else districts,
                       file_rows=PROVINCE_FILE_ROWS if file_rows is None else file_rows)
        return out
    write_export(build_demo(int(seed)), out)
    return out


# ---------------------------------------------------------------------------------------------
# Province scale: the district demo tiled over many districts, vectorised in DuckDB
# ---------------------------------------------------------------------------------------------
PROVINCE_DISTRICTS = 150
PROVINCE_BASES = 4                # distinct district generations the districts are drawn from
PROVINCE_FILE_ROWS = 2_000_000    # payment rows per 支出明细-NNN.csv
PROVINCE_CODE = "37"              # province administrative division code (山东省)
_NAME_CHARS = "东西南北安平和兴阳山河源泰宁华丰清新临长永文高金龙凤云庆明昌乐城"


def _districts(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` districts: code ``37CCDD`` (city CC, district DD), a unique two-character name with
    区/县, the base generation it is drawn from, and a money scale factor (districts differ in size)."""
    if n < 1:
        raise ParameterError(f"区县数应为正整数，实际为 {n}")
    pairs = [a + b for a in _NAME_CHARS for b in _NAME_CHARS if a != b]
    if n > len(pairs):
        raise ParameterError(f"区县数最多 {len(pairs)} 个，实际为 {n}")
    names = [pairs[i] for i in rng.permutation(len(pairs))[:n]]
    suffix = np.where(rng.random(n) < 0.3, "县", "区")
    codes = [f"{PROVINCE_CODE}{1 + i // 10:02d}{2 + i % 10:02d}" for i in range(n)]
    factor = np.clip(rng.lognormal(0.0, 0.35, n), 0.4, 2.5)
    return pd.DataFrame({"k": np.arange(n), "code": codes, "name": [a + s for a, s in zip(names, suffix)],
                         "base": np.arange(n) % min(n, PROVINCE_BASES), "f": factor})


def _fen_sql(x: str) -> str:
    """SQL: a non-negative integer fen expression as exact 元 text (``123456`` → ``1234.56``)."""
    return f"(({x}) // 100)::VARCHAR || '.' || lpad((({x}) % 100)::VARCHAR, 2, '0')"


def _bool_sql(x: str) -> str:
    return f"CASE WHEN {x} THEN '是' WHEN NOT {x} THEN '否' END"


def _headers(table: str, **override) -> dict[str, str]:
    return {c.name: override.get(c.name, c.header) for c in TABLES[table].columns}


def write_province(out_dir: Path, seed: int = 0, *, districts: int = PROVINCE_DISTRICTS,
                   file_rows: int = PROVINCE_FILE_ROWS) -> list[Path]:
    """Write a province-scale export: ``districts`` districts, each a copy of one of a few
    district-scale generations with its own codes (``37CCDD…``), department names (``安平区教体局``)
    and money scaled by a district factor times a per-project factor (payments, budgets and
    self-evaluated spending stay consistent). Tables are CSV except the two small workbooks;
    payments are split into ``支出明细-001.csv`` … of at most ``file_rows`` rows; targets are GBK
    with CRLF line ends, projects carry 年初预算数（万元） and a 合计 row. Returns the files written."""
    import duckdb

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 150])
    dist = _districts(int(districts), rng)
    n_bases = int(dist["base"].max()) + 1
    bases = [build_demo(seed if b == 0 else seed * 1000 + b) for b in range(n_bases)]
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET preserve_insertion_order = true")
        for name in TABLES:
            frames = []
            for b, data in enumerate(bases):
                df = getattr(data, name).copy()
                df.insert(0, "base", b)
                df.insert(1, "i", np.arange(len(df)))
                frames.append(df)
            df = pd.concat(frames, ignore_index=True)
            for c in df.columns:     # nullable extension dtypes → plain numpy/object for DuckDB
                if str(df[c].dtype) in ("Int64", "Float64", "boolean"):
                    df[c] = df[c].astype(object).where(df[c].notna(), None)
            con.register(f"_b_{name}", df)
            con.execute(f"CREATE TABLE b_{name} AS SELECT * FROM _b_{name}")
            con.unregister(f"_b_{name}")
        con.register("_dist", dist)
        con.execute("CREATE TABLE dist AS SELECT * FROM _dist")
        # per-project money factor: district factor × a project's own factor
        ids = con.execute("SELECT DISTINCT base, project_id FROM b_projects ORDER BY ALL").df()
        pf = dist[["k", "base", "f"]].merge(ids, on="base")
        pf["g"] = pf["f"] * rng.uniform(0.8, 1.25, len(pf))
        con.register("_pf", pf[["k", "project_id", "g"]])
        con.execute("CREATE TABLE pf AS SELECT * FROM _pf")
        files = _write_province_tables(con, out, file_rows)
    finally:
        con.close()
    return files


def _copy_csv(con, select: str, path: Path) -> None:
    con.execute(f"COPY ({select}) TO '{path.as_posix()}' (HEADER, DELIMITER ',', QUOTE '\"')")


def _write_province_tables(con, out: Path, file_rows: int) -> list[Path]:
    files: list[Path] = []
    pid = "d.code || substr(b.project_id, 7)"
    dept = "d.code || b.dept_code"
    scaled = "CAST(round(b.{col}_fen * pf.g) AS BIGINT)"
    join_p = ("FROM b_{t} b JOIN dist d ON d.base = b.base "
              "JOIN pf ON pf.k = d.k AND pf.project_id = b.project_id")

    def name_sql(col: str) -> str:
        return f"CASE WHEN b.{col} LIKE '区%' THEN d.name || substr(b.{col}, 2) ELSE d.name || b.{col} END"

    # departments (workbook, as in the district demo)
    h = _headers("departments")
    depts = con.execute(f"""
        SELECT {dept} AS "{h['dept_code']}", {name_sql('dept_name')} AS "{h['dept_name']}",
               CASE WHEN b.parent_code IS NOT NULL THEN d.code || b.parent_code END AS "{h['parent_code']}",
               b.sector AS "{h['sector']}", {_bool_sql('b.is_street')} AS "{h['is_street']}"
        FROM b_departments b JOIN dist d ON d.base = b.base ORDER BY d.k, b.i""").df()
    p = out / "部门.xlsx"
    _write_xlsx({"部门": depts}, p)
    files.append(p)

    # projects: budgets in 100 元 steps, 年初预算数 written in 万元, a 合计 row
    con.execute(f"""
        CREATE TABLE x_projects AS SELECT d.k, b.i, {pid} AS project_id, b.year, {dept} AS dept_code,
               b.project_name, b.project_type, b.budget_kind, b.fund_source,
               greatest(CAST(round(b.budget_amount_fen * pf.g / 10000) AS BIGINT), 1) * 10000 AS budget_fen,
               CASE WHEN b.adjusted_amount_fen IS NOT NULL THEN
                    greatest(CAST(round(b.adjusted_amount_fen * pf.g / 10000) AS BIGINT), 1) * 10000 END
                    AS adjusted_fen,
               b.is_classified, b.is_special
        {join_p.format(t='projects')} ORDER BY d.k, b.i""")
    wan = TABLES["projects"].column("budget_amount").header + "（万元）"
    h = _headers("projects", budget_amount=wan)
    p = out / "项目.csv"
    _copy_csv(con, f"""
        SELECT project_id AS "{h['project_id']}", year AS "{h['year']}", dept_code AS "{h['dept_code']}",
               project_name AS "{h['project_name']}", project_type AS "{h['project_type']}",
               budget_kind AS "{h['budget_kind']}", fund_source AS "{h['fund_source']}",
               (budget_fen // 1000000)::VARCHAR || '.' || lpad(((budget_fen % 1000000) // 10000)::VARCHAR, 2, '0')
                   AS "{h['budget_amount']}",
               {_fen_sql('adjusted_fen')} AS "{h['adjusted_amount']}",
               {_bool_sql('is_classified')} AS "{h['is_classified']}",
               {_bool_sql('is_special')} AS "{h['is_special']}"
        FROM x_projects ORDER BY k, i""", p)
    budget, adjusted = con.execute("SELECT sum(budget_fen), sum(adjusted_fen) FROM x_projects").fetchone()
    budget, adjusted = int(budget), int(adjusted or 0)
    total = ["合计", "", "", "", "", "", "",
             f"{budget // 1_000_000}.{(budget % 1_000_000) // 10_000:02d}",
             f"{adjusted // FEN}.{adjusted % FEN:02d}", "", ""]
    with open(p, "a", encoding="utf-8", newline="") as fh:
        fh.write(",".join(total) + "\n")
    files.append(p)

    # targets: GBK with CRLF line ends, as the budget system writes them
    h = _headers("targets")
    p = out / "绩效目标.csv"
    tmp = out / ".绩效目标.utf8.tmp"
    _copy_csv(con, f"""
        SELECT CASE WHEN b.project_id IS NOT NULL THEN {pid} END AS "{h['project_id']}",
               {dept} AS "{h['dept_code']}", b.year AS "{h['year']}", b.level1 AS "{h['level1']}",
               b.level2 AS "{h['level2']}", b.indicator AS "{h['indicator']}",
               b.direction AS "{h['direction']}", b.target_value AS "{h['target_value']}",
               b.unit AS "{h['unit']}", b.weight AS "{h['weight']}"
        FROM b_targets b JOIN dist d ON d.base = b.base ORDER BY d.k, b.i""", tmp)
    _transcode(tmp, p, "gbk", crlf=True)
    files.append(p)

    # payments, split into files of at most file_rows rows (whole districts per file)
    con.execute(f"""
        CREATE TABLE x_payments AS SELECT d.k, b.i, {pid} AS project_id, b.year, b.pay_date,
               {scaled.format(col='amount')} AS amount_fen
        {join_p.format(t='payments')} ORDER BY d.k, b.i""")
    con.execute("DELETE FROM x_payments WHERE amount_fen <= 0")
    per_k = con.execute("SELECT k, count(*) FROM x_payments GROUP BY k ORDER BY k").fetchall()
    h = _headers("payments")
    chunks, cur, n = [], [], 0
    for k, c in per_k:
        if cur and n + c > file_rows:
            chunks.append(cur)
            cur, n = [], 0
        cur.append(k)
        n += c
    if cur:
        chunks.append(cur)
    for j, ks in enumerate(chunks, 1):
        p = out / f"{TABLES['payments'].label}-{j:03d}.csv"
        _copy_csv(con, f"""
            SELECT project_id AS "{h['project_id']}", year AS "{h['year']}",
                   strftime(pay_date, '%Y-%m-%d') AS "{h['pay_date']}",
                   {_fen_sql('amount_fen')} AS "{h['amount']}"
            FROM x_payments WHERE k BETWEEN {ks[0]} AND {ks[-1]} ORDER BY k, i""", p)
        files.append(p)

    # monitoring (UTF-8 with BOM)
    h = _headers("monitoring")
    p = out / "绩效监控.csv"
    _copy_csv(con, f"""
        SELECT {pid} AS "{h['project_id']}", b.year AS "{h['year']}", b.as_of_month AS "{h['as_of_month']}",
               b.indicator AS "{h['indicator']}", b.actual_value AS "{h['actual_value']}",
               b.deviation_reason AS "{h['deviation_reason']}", b.likelihood AS "{h['likelihood']}",
               {_bool_sql('b.key_monitored')} AS "{h['key_monitored']}"
        FROM b_monitoring b JOIN dist d ON d.base = b.base ORDER BY d.k, b.i""", p)
    _prepend_bom(p)
    files.append(p)

    # self-evaluations: 全年执行数 = the project's (scaled) payments of the year
    h = _headers("self_evaluations")
    p = out / "绩效自评.csv"
    _copy_csv(con, f"""
        WITH spent AS (SELECT project_id, year, sum(amount_fen) AS fen FROM x_payments GROUP BY ALL)
        SELECT {pid} AS "{h['project_id']}", b.year AS "{h['year']}",
               {_fen_sql('coalesce(s.fen, 0)')} AS "{h['spent_amount']}",
               b.satisfaction AS "{h['satisfaction']}", b.reported_score AS "{h['reported_score']}"
        FROM b_self_evaluations b JOIN dist d ON d.base = b.base
        LEFT JOIN spent s ON s.project_id = {pid} AND s.year = b.year ORDER BY d.k, b.i""", p)
    files.append(p)
    h = _headers("self_eval_indicators")
    p = out / "自评指标.csv"
    _copy_csv(con, f"""
        SELECT {pid} AS "{h['project_id']}", b.year AS "{h['year']}", b.indicator AS "{h['indicator']}",
               b.actual_value AS "{h['actual_value']}"
        FROM b_self_eval_indicators b JOIN dist d ON d.base = b.base ORDER BY d.k, b.i""", p)
    files.append(p)

    # key evaluations (workbook): next-year request and approval scaled in 万元 steps
    h = _headers("key_evaluations")
    ke = con.execute(f"""
        SELECT {pid} AS "{h['project_id']}", b.year AS "{h['year']}", b.domain AS "{h['domain']}",
               b.score_decision AS "{h['score_decision']}", b.score_process AS "{h['score_process']}",
               b.score_output AS "{h['score_output']}", b.score_effect AS "{h['score_effect']}",
               CAST(round(b.next_request_fen * pf.g / 1000000) AS BIGINT) * 10000 AS "{h['next_request']}",
               CAST(round(b.next_approved_fen * pf.g / 1000000) AS BIGINT) * 10000 AS "{h['next_approved']}",
               b.findings AS "{h['findings']}"
        {join_p.format(t='key_evaluations')} ORDER BY d.k, b.i""").df()
    p = out / "重点评价.xlsx"
    _write_xlsx({"重点评价": ke}, p)
    files.append(p)

    # costs (UTF-8 with BOM) and outputs
    h = _headers("costs")
    p = out / "成本构成.csv"
    _copy_csv(con, f"""
        SELECT {pid} AS "{h['project_id']}", b.year AS "{h['year']}", b.cost_element AS "{h['cost_element']}",
               {_fen_sql(scaled.format(col='amount'))} AS "{h['amount']}"
        {join_p.format(t='costs')} ORDER BY d.k, b.i""", p)
    _prepend_bom(p)
    files.append(p)
    h = _headers("outputs")
    p = out / "产出数量.csv"
    _copy_csv(con, f"""
        SELECT {pid} AS "{h['project_id']}", b.year AS "{h['year']}", b.output_name AS "{h['output_name']}",
               b.unit AS "{h['unit']}", b.quantity AS "{h['quantity']}",
               b.quality_score AS "{h['quality_score']}"
        FROM b_outputs b JOIN dist d ON d.base = b.base ORDER BY d.k, b.i""", p)
    files.append(p)

    # street fiscal: amounts scaled by the district factor (whole 元)
    h = _headers("street_fiscal")
    p = out / "街道财政.csv"
    _copy_csv(con, f"""
        SELECT {dept} AS "{h['dept_code']}", b.year AS "{h['year']}", b.indicator AS "{h['indicator']}",
               CAST(round(b.value * d.f) AS BIGINT) AS "{h['value']}"
        FROM b_street_fiscal b JOIN dist d ON d.base = b.base ORDER BY d.k, b.i""", p)
    files.append(p)
    return files


def _transcode(src: Path, dst: Path, encoding: str, *, crlf: bool = False,
               chunk: int = 8 << 20) -> None:
    """Re-encode a UTF-8 text file in streaming chunks (and optionally use CRLF line ends)."""
    import codecs

    dec = codecs.getincrementaldecoder("utf-8")()
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while True:
            data = fin.read(chunk)
            text = dec.decode(data, final=not data)
            if crlf:
                text = text.replace("\n", "\r\n")
            fout.write(text.encode(encoding))
            if not data:
                break
    src.unlink()


def _prepend_bom(path: Path, chunk: int = 8 << 20) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    with open(path, "rb") as fin, open(tmp, "wb") as fout:
        fout.write(b"\xef\xbb\xbf")
        while data := fin.read(chunk):
            fout.write(data)
    tmp.replace(path)
